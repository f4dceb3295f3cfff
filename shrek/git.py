"""Every git operation SHREK performs, in one place: the one door to git.

The registry's repository goes through GitPython (which runs the real ``git``); the code
repositories a tag names are resolved with ``git ls-remote`` (no clone), here as well.

SHREK commits only the files it wrote (``git commit -- <paths>``), never whatever else happens
to be staged, and runs the real ``git`` so that the registry's own hooks and settings apply.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import git

from shrek.errors import ExitCode, ShrekError
from shrek.interrupts import fault_point, no_interrupt
from shrek.redact import redact

_INDEX_LOCK = re.compile(r"Unable to create '([^']*index\.lock)'")
_NO_SPACE = re.compile(r"No space left on device|Disk quota exceeded", re.I)


def _git_error(action: str, exc: git.GitCommandError) -> ShrekError:
    """git's own reason, with the fix for the faults people meet: a lock left by an
    interrupted git (or SHREK) process, and a full disk."""
    detail = (exc.stderr or exc.stdout or str(exc)).strip().replace("stderr: ", "")
    detail = " ".join(detail.strip("'").split())
    lock = _INDEX_LOCK.search(detail)
    if lock:
        return ShrekError(
            f"git {action} failed: {lock.group(1)} exists (another git process is running, or "
            "one was interrupted and left it behind)",
            f"if no git command is running in this repository, remove it: rm '{lock.group(1)}'; "
            "then re-run the command",
            ExitCode.GIT,
        )
    if _NO_SPACE.search(detail):
        return ShrekError(
            f"git {action} failed: the disk is full ({detail})",
            "free space on the file system of the registry, then re-run the command",
            ExitCode.FILESYSTEM,
        )
    return ShrekError(
        f"git {action} failed: {detail}",
        "fix the git problem above, then re-run the command",
        ExitCode.GIT,
    )


class _ShieldedGit(git.Git):
    """GitPython's command runner, starting every git (also its persistent ``cat-file``
    helpers) with SIGINT blocked: the user's Ctrl-C reaches SHREK, which stops at a safe point,
    never a git half-way through a commit (see :mod:`shrek.interrupts`)."""

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        with no_interrupt():
            return super().execute(*args, **kwargs)


class _Repo(git.Repo):
    GitCommandWrapperType = _ShieldedGit


class GitRepo:
    """The git work tree a registry lives in (the registry may be a subdirectory of it)."""

    def __init__(self, path: Path) -> None:
        try:
            self.repo = _Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise ShrekError(
                f"{path} is not inside a git repository",
                "run 'shrek init' (it creates the repository) or 'git init'",
                ExitCode.GIT,
            ) from exc
        self.root = Path(self.repo.working_tree_dir or path).resolve()

    @classmethod
    def init(cls, path: Path) -> GitRepo:
        """Open the repository containing ``path``, creating one at ``path`` if there is none."""
        try:
            return cls(path)
        except ShrekError:
            _Repo.init(path, initial_branch="main")
            return cls(path)

    def check_identity(self) -> None:
        """Refuse early (before writing anything) when git could not make a commit."""
        try:
            self.repo.git.var("GIT_COMMITTER_IDENT")
            self.repo.git.var("GIT_AUTHOR_IDENT")
        except git.GitCommandError as exc:
            raise ShrekError(
                "git does not know who you are, so SHREK cannot commit",
                "run: git config --global user.name 'Your Name' && "
                "git config --global user.email you@example.org",
                ExitCode.GIT,
            ) from exc

    def user(self) -> str:
        """'Name <email>' of the committer, for ownership and records."""
        try:
            ident = self.repo.git.var("GIT_AUTHOR_IDENT")
        except git.GitCommandError:
            return ""
        return ident.rsplit(">", 1)[0] + ">" if ">" in ident else ident

    def commit(self, paths: list[Path], message: str) -> str:
        """Commit exactly ``paths`` (added, changed or deleted) and return the new commit SHA.

        If git refuses (a hook, a locked index), the paths are taken out of the index again so
        the caller can undo its writes and leave the repository as it found it.
        """
        message = redact(message)  # a commit message is forever: no credential reaches it
        relative = [str(Path(p).resolve().relative_to(self.root)) for p in paths]
        fault_point("before-commit")
        try:
            self.repo.git.add("--all", "--", *relative)
            self.repo.git.commit("--quiet", "-m", message, "--", *relative)
        except git.GitCommandError as exc:
            self._unstage(relative)
            raise _git_error("commit", exc) from exc
        fault_point("after-commit")
        return self.repo.head.commit.hexsha

    def _unstage(self, relative: list[str]) -> None:
        """Take ``relative`` out of the index again after a refused commit. Best effort: the
        fault that refused the commit (a lock, a full disk) may refuse this too, and then the
        commit's own error is the one to report, not this one."""
        try:
            if self.has_commits():
                self.repo.git.reset("--quiet", "--", *relative)
            else:
                self.repo.git.rm("--cached", "-r", "--quiet", "--ignore-unmatch", "--", *relative)
        except git.GitCommandError:
            pass

    def branch(self) -> str | None:
        """The checked-out branch, None when HEAD is detached."""
        try:
            return self.repo.active_branch.name
        except TypeError:  # GitPython: "HEAD is a detached symbolic reference"
            return None

    def head(self) -> str:
        """The current commit SHA ('' before the first commit)."""
        return self.repo.head.commit.hexsha if self.has_commits() else ""

    def dirty_paths(self, paths: list[Path]) -> list[str]:
        """Uncommitted or untracked files under ``paths`` (relative to the work tree)."""
        relative = [str(Path(p).resolve().relative_to(self.root)) for p in paths]
        try:
            status = self.repo.git.status("--porcelain", "--untracked-files=all", "--", *relative)
        except git.GitCommandError as exc:
            raise _git_error("status", exc) from exc
        return [line[3:] for line in status.splitlines() if line.strip()]

    def unpushed(self) -> str:
        """'' when the repository has no remote or HEAD is on one of its remote branches;
        otherwise the names of the remotes HEAD is missing from. Uses the last fetched state
        of the remotes (no network)."""
        remotes = [r.name for r in self.repo.remotes]
        if not remotes or not self.has_commits():
            return ""
        try:
            containing = self.repo.git.branch("-r", "--contains", "HEAD")
        except git.GitCommandError as exc:
            raise _git_error("branch --contains", exc) from exc
        return "" if containing.strip() else ", ".join(remotes)

    def changed_files(self, base: str) -> list[str]:
        """Files changed between the merge base of ``base`` and HEAD (a pull request's files),
        relative to the work tree."""
        try:
            text = self.repo.git.diff("--name-only", "--no-renames", f"{base}...HEAD")
        except git.GitCommandError as exc:
            raise _git_error(f"diff {base}...HEAD", exc) from exc
        return [line for line in text.splitlines() if line]

    def file_at(self, ref: str, path: Path) -> str | None:
        """The text of ``path`` at ``ref`` (None when it does not exist there)."""
        relative = Path(path).resolve().relative_to(self.root).as_posix()
        try:
            return self.repo.git.show(f"{ref}:{relative}")
        except git.GitCommandError:
            return None

    def log(self, path: Path) -> list[tuple[str, str, str, str]]:
        """Every commit touching ``path``, oldest first: (sha, ISO date, author, subject)."""
        relative = Path(path).resolve().relative_to(self.root).as_posix()
        try:
            text = self.repo.git.log("--reverse", "--format=%H%x1f%aI%x1f%an%x1f%s", "--", relative)
        except git.GitCommandError as exc:
            raise _git_error("log", exc) from exc
        entries = []
        for line in text.splitlines():
            sha, date, author, subject = line.split("\x1f", 3)
            entries.append((sha, date, author, subject))
        return entries

    def add_worktree(self, directory: Path, commit: str) -> None:
        """Check ``commit`` out into ``directory`` (detached), beside the registry's own tree."""
        try:
            self.repo.git.worktree("add", "--detach", "--quiet", str(directory), commit)
        except git.GitCommandError as exc:
            raise _git_error(f"worktree add {commit[:12]}", exc) from exc

    def remove_worktree(self, directory: Path) -> None:
        """Remove a work tree :meth:`add_worktree` made (best effort: then prune)."""
        try:
            self.repo.git.worktree("remove", "--force", str(directory))
        except git.GitCommandError:
            with contextlib.suppress(git.GitCommandError):
                self.repo.git.worktree("prune")

    def merge_base(self, ref: str) -> str:
        """The commit where HEAD's history and ``ref``'s meet (what a pull request started
        from)."""
        try:
            return str(self.repo.git.merge_base(ref, "HEAD")).strip()
        except git.GitCommandError as exc:
            raise _git_error(f"merge-base {ref} HEAD", exc) from exc

    def versions(self, pathspecs: list[str]) -> list[tuple[str, str, str]]:
        """Every committed version of the files matching ``pathspecs`` (git glob pathspecs,
        relative to the work tree) in HEAD's history, oldest first: (commit, path, blob)."""
        try:
            text = self.repo.git.log(
                "--reverse",
                "--format=@%H",
                "--raw",
                "--no-abbrev",
                "--no-renames",
                "-m",
                "--first-parent",
                "--",
                *[f":(glob){p}" for p in pathspecs],
            )
        except git.GitCommandError as exc:
            raise _git_error("log", exc) from exc
        found, commit = [], ""
        for line in text.splitlines():
            if line.startswith("@"):
                commit = line[1:]
            elif line.startswith(":"):
                fields, _, path = line.partition("\t")
                blob = fields.split()[3]
                if set(blob) != {"0"}:  # not a deletion
                    found.append((commit, path, blob))
        return found

    def tree_blobs(self, ref: str, paths: list[str]) -> list[tuple[str, str, str]]:
        """The files at or under ``paths`` (relative to the work tree) in the tree of ``ref``:
        (ref, path, blob)."""
        try:
            text = self.repo.git.ls_tree("-r", "--full-tree", ref, "--", *paths)
        except git.GitCommandError as exc:
            raise _git_error(f"ls-tree {ref}", exc) from exc
        found = []
        for line in text.splitlines():
            fields, _, path = line.partition("\t")
            found.append((ref, path, fields.split()[2]))
        return found

    def blobs(self, shas: list[str]) -> dict[str, bytes]:
        """The content of many blobs through one ``git cat-file --batch``."""
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        with no_interrupt():  # the user's Ctrl-C is SHREK's to handle, not git's
            done = subprocess.run(
                ["git", "cat-file", "--batch"],
                cwd=self.root,
                input=("\n".join(wanted) + "\n").encode(),
                capture_output=True,
                check=False,
            )
        if done.returncode != 0:
            raise ShrekError(
                f"git cat-file failed: {done.stderr.decode(errors='replace').strip()}",
                "check the repository with 'git fsck'",
                ExitCode.GIT,
            )
        contents, data, offset = {}, done.stdout, 0
        for sha in wanted:
            end = data.index(b"\n", offset)
            header = data[offset:end].split()
            if len(header) < 3:  # "<sha> missing"
                raise ShrekError(
                    f"git object {sha} is missing",
                    "check the repository with 'git fsck'",
                    ExitCode.GIT,
                )
            size = int(header[2])
            contents[sha] = data[end + 1 : end + 1 + size]
            offset = end + 1 + size + 1
        return contents

    def has_commits(self) -> bool:
        try:
            self.repo.head.commit  # noqa: B018 - raises when the branch has no commit yet
        except ValueError:
            return False
        return True


# -- code repositories named in tag.yaml -----------------------------------------------------

_FULL_SHA = re.compile(r"[0-9a-f]{40}")


def _git_environment() -> dict[str, str]:
    """Never prompt for credentials: a freeze must fail with a message, not hang."""
    return {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "true",
        "SSH_ASKPASS": "true",
        "GCM_INTERACTIVE": "never",
    }


def _local_git_dir(url: str) -> str | None:
    path = url.removeprefix("file://")
    return (
        path if (url.startswith("file://") or "://" not in url) and os.path.exists(path) else None
    )


def _check_commit_exists(url: str, sha: str, timeout: float) -> None:
    """A full SHA must name a commit where the repository is local; elsewhere it is taken."""
    local = _local_git_dir(url)
    if local is None:
        return
    check = subprocess.run(
        ["git", "-C", local, "cat-file", "-e", f"{sha}^{{commit}}"],
        capture_output=True,
        env=_git_environment(),
        timeout=timeout,
    )
    if check.returncode != 0:
        raise ShrekError(
            f"commit {sha} does not exist in {url}",
            "give a commit, branch or tag of that repository",
            ExitCode.INVALID,
        )


def _remote_refs(url: str, timeout: float) -> dict[str, str]:
    """``git ls-remote``: ref name -> SHA (peeled tags as ``name^{}``)."""
    try:
        listing = subprocess.run(
            ["git", "ls-remote", "--", url],
            capture_output=True,
            text=True,
            env=_git_environment(),
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise ShrekError(
            f"git ls-remote {url} timed out after {timeout:.0f} s",
            "check the URL and your network",
            ExitCode.GIT,
        ) from exc
    if listing.returncode != 0:
        detail = " ".join(listing.stderr.split())
        raise ShrekError(
            f"cannot list the refs of {url}: {detail}",
            "check the URL and that you may read the repository",
            ExitCode.GIT,
        )
    refs: dict[str, str] = {}
    for line in listing.stdout.splitlines():
        sha, _, name = line.partition("\t")
        refs[name] = sha
    return refs


def resolve_ref(url: str, ref: str, *, timeout: float = 120) -> str:
    """The full commit SHA ``ref`` (branch, tag or SHA) of repository ``url`` names now.

    Uses ``git ls-remote`` (no clone), which works for local paths, ``file://`` and remote URLs.
    A full SHA is accepted as it is when the repository cannot be inspected locally, and checked
    to exist when it can. Raises ShrekError naming the repository and the ref.
    """
    if _FULL_SHA.fullmatch(ref):
        _check_commit_exists(url, ref, timeout)
        return ref
    refs = _remote_refs(url, timeout)
    candidates = [ref] if ref.startswith("refs/") else [f"refs/heads/{ref}", f"refs/tags/{ref}"]
    found = {name: refs.get(f"{name}^{{}}", refs[name]) for name in candidates if name in refs}
    if len(set(found.values())) > 1:
        raise ShrekError(
            f"ref '{ref}' of {url} is both a branch and a tag",
            f"write refs/heads/{ref} or refs/tags/{ref}",
            ExitCode.INVALID,
        )
    if not found:
        if re.fullmatch(r"[0-9a-f]{4,39}", ref):
            hint = "give the full 40-character commit SHA"
        else:
            hint = "give an existing branch, tag or full commit SHA"
        raise ShrekError(f"ref '{ref}' does not exist in {url}", hint, ExitCode.INVALID)
    return next(iter(found.values()))
