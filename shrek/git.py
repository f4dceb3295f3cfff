"""Every git operation SHREK performs, in one place: the one door to git.

The registry's repository is worked on by running the real ``git`` (so that the registry's own
hooks and settings apply) through :func:`_run`; the code repositories a tag names are resolved
with ``git ls-remote`` (no clone), here as well.

SHREK commits only the files it wrote (``git commit -- <paths>``), never whatever else happens
to be staged.

Why not GitPython: every operation SHREK needs is a git command it runs anyway, and importing
GitPython cost 55 ms and two ``git version`` processes on every command that touches the
repository — a fifth of a ``submit`` (issue 32). The few things it read in-process (HEAD, the
branch, the configuration) are one short git process each here, and git's own answer.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from pathlib import Path

from shrek.errors import ExitCode, ShrekError
from shrek.gitconfig import CLONE_KEY, LOCAL, REMOTE_KEYS, remote_in, remote_names
from shrek.interrupts import fault_point, no_interrupt
from shrek.redact import redact

# The trailer that marks a commit as SHREK's own record-keeping (journal, records, ledger lines,
# lifecycle events): SHREK publishes such commits to the registry's remote itself, re-applying
# them when a push is refused, and never counts them as a user's unpushed work.
PUBLISH_TRAILER = "Shrek-Publish: yes"
# What a push refused because the remote ref moved says (someone else pushed first): the
# compare-and-swap lost, so fetch and try again. Anything else is a real failure.
_LOST_RACE = re.compile(
    r"non-fast-forward|fetch first|stale info|failed to lock|cannot lock ref|already exists|"
    r"incorrect old value|reference already exists",
    re.I,
)

_INDEX_LOCK = re.compile(r"Unable to create '([^']*index\.lock)'")
_NO_SPACE = re.compile(r"No space left on device|Disk quota exceeded", re.I)


class GitFailed(Exception):
    """A git command that exited non-zero, with git's own words."""

    def __init__(self, args: tuple[str, ...], status: int, stdout: str, stderr: str) -> None:
        super().__init__(f"git {' '.join(args)}: exit {status}: {stderr.strip() or stdout.strip()}")
        self.status = status
        self.stdout = stdout
        self.stderr = stderr


def _run(cwd: Path, *args: str, accept: tuple[int, ...] = (0,)) -> str:
    """Run ``git ARGS`` in ``cwd`` and return its output without the final newline.

    git speaks English here (``LC_ALL=C``: the faults below are recognised by its words), reads
    nothing from SHREK's standard input, and starts with SIGINT blocked: the user's Ctrl-C
    reaches SHREK, which stops at a safe point, never a git half-way through a commit (see
    :mod:`shrek.interrupts`). An exit status outside ``accept`` raises :class:`GitFailed`."""
    with no_interrupt():
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**os.environ, "LANGUAGE": "C", "LC_ALL": "C"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    out = done.stdout.decode("utf-8", "surrogateescape")
    if done.returncode not in accept:
        raise GitFailed(args, done.returncode, out, done.stderr.decode("utf-8", "replace"))
    return out[:-1] if out.endswith("\n") else out


# Environment variables that point git elsewhere than the ``.git`` beside a directory.
_GIT_LOCATED = {"GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR"}
_BRANCH_REF = "ref: refs/heads/"  # .git/HEAD on a branch


def _work_tree(path: Path) -> Path:
    """The top of the work tree ``path`` is in (``path`` may be a file, or one still to be
    made): the directory itself when a ``.git`` directory is beside it — where git would look
    first — else git's answer."""
    start = path
    while not start.is_dir() and start != start.parent:
        start = start.parent
    if (start / ".git" / "HEAD").is_file() and not _GIT_LOCATED.intersection(os.environ):
        return start.resolve()  # a plain repository (a .git file, a linked one: git decides)
    try:
        top = _run(start, "rev-parse", "--show-toplevel")
    except (GitFailed, OSError) as exc:
        words = " ".join(exc.stderr.split()) if isinstance(exc, GitFailed) else str(exc)
        plain = "not a git repository" in words.lower() and not (start / ".git").exists()
        why = "" if plain else f" ({words})"  # a damaged .git: git's words say what is wrong
        raise ShrekError(
            f"{path} is not inside a git repository{why}",
            "run 'shrek init' (it creates the repository) or 'git init'",
            ExitCode.GIT,
        ) from exc
    return Path(top).resolve()


def _git_error(action: str, exc: GitFailed) -> ShrekError:
    """git's own reason, with the fix for the faults people meet: a lock left by an
    interrupted git (or SHREK) process, and a full disk."""
    detail = " ".join((exc.stderr or exc.stdout or str(exc)).split())
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


class GitRepo:
    """The git work tree a registry lives in (the registry may be a subdirectory of it)."""

    def __init__(self, path: Path) -> None:
        self.root = _work_tree(Path(path))
        # In SHREK's own work tree of the production branch (detached, so that the user may
        # have the branch checked out too): the branch to move along with each commit.
        self.carries: str | None = None
        # Asked once per repository object (a command asks each several times; SHREK changes
        # neither): the identities git commits with, the branch, the remotes' configuration.
        self._idents: dict[str, str] = {}
        self._branch: tuple[str | None] | None = None
        self._remotes: str | None = None

    def _git(self, *args: str, accept: tuple[int, ...] = (0,)) -> str:
        """``git ARGS`` in the work tree (see :func:`_run`)."""
        return _run(self.root, *args, accept=accept)

    @classmethod
    def init(cls, path: Path) -> GitRepo:
        """Open the repository containing ``path``, creating one at ``path`` if there is none."""
        try:
            return cls(path)
        except ShrekError:
            try:
                Path(path).mkdir(parents=True, exist_ok=True)
                _run(Path(path), "init", "--quiet", "--initial-branch=main", ".")
            except GitFailed as exc:
                raise _git_error("init", exc) from exc
            return cls(path)

    def check_identity(self) -> None:
        """Refuse early (before writing anything) when git could not make a commit."""
        try:
            self._ident("GIT_COMMITTER_IDENT")
            self._ident("GIT_AUTHOR_IDENT")
        except GitFailed as exc:
            if "ident" not in exc.stderr.lower() and "who you are" not in exc.stderr:
                raise _git_error("var", exc) from exc  # not the identity: the repository
            raise ShrekError(
                "git does not know who you are, so SHREK cannot commit",
                "run: git config --global user.name 'Your Name' && "
                "git config --global user.email you@example.org",
                ExitCode.GIT,
            ) from exc

    def user(self) -> str:
        """'Name <email>' of the committer, for ownership and records."""
        try:
            ident = self._ident("GIT_AUTHOR_IDENT")
        except GitFailed:
            return ""
        return ident.rsplit(">", 1)[0] + ">" if ">" in ident else ident

    def _ident(self, variable: str) -> str:
        """``git var`` of an identity, asked once per repository object (a submit names its
        user in the journal, each record and the README: one git process each before)."""
        if variable not in self._idents:
            self._idents[variable] = str(self._git("var", variable))
        return self._idents[variable]

    def commit(
        self,
        paths: list[Path],
        message: str,
        *,
        publish: bool = False,
        tidy: bool = True,
        new: bool = False,
    ) -> str:
        """Commit exactly ``paths`` (added, changed or deleted) and return the new commit SHA.

        ``publish`` marks the commit as SHREK's own record-keeping (:data:`PUBLISH_TRAILER`),
        which SHREK pushes to the registry's remote itself. In SHREK's own detached work tree
        of the production branch (:attr:`carries`) the branch follows the new commit.

        If git refuses (a hook, a locked index), the paths are taken out of the index again so
        the caller can undo its writes and leave the repository as it found it.

        ``tidy=False`` skips git's housekeeping check after the commit (``maintenance run
        --auto``, 4 ms) for a commit that the same command follows with another, which checks.
        ``new``: some of ``paths`` are new files, so they are staged at once (a commit of
        tracked files only, tried first otherwise, would be refused: one git process wasted).
        """
        message = redact(message)  # a commit message is forever: no credential reaches it
        if publish:
            message = f"{message.rstrip()}\n\n{PUBLISH_TRAILER}"
        before = self.head() if self.carries else ""
        relative = [str(Path(p).resolve().relative_to(self.root)) for p in paths]
        fault_point("before-commit")
        tidying = () if tidy else ("-c", "maintenance.auto=false")
        try:
            if new or not self._commit_tracked(relative, message, tidying):
                self._git("add", "--all", "--", *relative)
                self._git(*tidying, "commit", "--quiet", "-m", message, "--", *relative)
        except GitFailed as exc:
            self._unstage(relative)
            raise _git_error("commit", exc) from exc
        sha = self.head()
        if self.carries:
            self.update_ref(f"refs/heads/{self.carries}", sha, before)
        fault_point("after-commit")
        return sha

    def _commit_tracked(self, relative: list[str], message: str, tidying: tuple[str, ...]) -> bool:
        """Commit files git already tracks without staging them first (``git commit --
        <files>`` takes their content from the work tree): one git process, not two. False,
        with nothing done, when one is new (git refuses the whole commit before anything,
        hooks included, runs) or is a directory (a new file inside would be left out)."""
        if any(os.path.isdir(self.root / name) for name in relative):
            return False
        try:
            self._git(*tidying, "commit", "--quiet", "-m", message, "--", *relative)
        except GitFailed as exc:
            if "did not match any file(s) known to git" in exc.stderr:
                return False
            raise
        return True

    def _unstage(self, relative: list[str]) -> None:
        """Take ``relative`` out of the index again after a refused commit. Best effort: the
        fault that refused the commit (a lock, a full disk) may refuse this too, and then the
        commit's own error is the one to report, not this one."""
        try:
            if self.has_commits():
                self._git("reset", "--quiet", "--", *relative)
            else:
                self._git("rm", "--cached", "-r", "--quiet", "--ignore-unmatch", "--", *relative)
        except GitFailed:
            pass

    def restore(self, paths: list[Path]) -> list[str]:
        """Put ``paths`` back as HEAD has them: tracked ones checked out (untracked files under
        a tracked directory removed), the others removed. Returns those that differed."""
        relative = [Path(p).resolve().relative_to(self.root).as_posix() for p in paths]
        relative = [r for r in relative if r not in (".", "") and not r.startswith(".git/")]
        if not relative:
            return []
        dirty = set(self.dirty_paths([self.root / r for r in relative]))
        self._unstage(relative)
        tracked = set()
        if self.has_commits():
            listed = self._git("ls-tree", "--name-only", "HEAD", "--", *relative)
            tracked = set(listed.splitlines())
        restored = []
        for name in relative:
            path = self.root / name
            if name in tracked:
                if not any(d == name or d.startswith(f"{name}/") for d in dirty):
                    continue
                if path.is_dir():
                    self._git("checkout", "HEAD", "--", name)
                    self._git("clean", "-fdq", "--", name)
                else:  # without the index, which a stale index.lock may hold
                    path.unlink(missing_ok=True)
                    path.write_bytes(self.content("HEAD", name) or b"")
                restored.append(name)
            elif path.is_dir() and not path.is_symlink():
                import shutil  # (with bz2 and lzma) only for a restore

                shutil.rmtree(path, ignore_errors=True)
                restored.append(name)
            elif path.exists() or path.is_symlink():
                path.unlink()
                restored.append(name)
        return restored

    def branch(self) -> str | None:
        """The checked-out branch, None when HEAD is detached."""
        if self._branch is None:
            head = self._head_text()
            if head is not None and head.startswith(_BRANCH_REF):
                self._branch = (head[len(_BRANCH_REF) :],)
            elif head is not None and _FULL_SHA.fullmatch(head):
                self._branch = (None,)
            else:
                try:
                    branch = self._git("symbolic-ref", "--quiet", "--short", "HEAD")
                    self._branch = (branch or None,)
                except GitFailed:  # exit 1: HEAD is detached
                    self._branch = (None,)
        return self._branch[0]

    def head(self) -> str:
        """The current commit SHA ('' before the first commit)."""
        return self._head_file() or self._git(
            "rev-parse", "--quiet", "--verify", "HEAD^{commit}", accept=(0, 1)
        )

    def _head_file(self) -> str | None:
        """HEAD read from the files git keeps it in (a submit asks after each commit), where
        they say it plainly: ``.git/HEAD`` naming a loose branch ref, or a detached SHA. None
        (ask git) for anything else: a linked work tree, packed or reftable refs, GIT_DIR."""
        head = self._head_text()
        if head is not None and head.startswith(_BRANCH_REF):
            try:
                head = (self.root / ".git" / head[5:]).read_text(encoding="ascii").strip()
            except (OSError, ValueError):  # no loose ref, not text
                return None
        return head if head is not None and _FULL_SHA.fullmatch(head) else None

    def _head_text(self) -> str | None:
        """``.git/HEAD`` as written (``ref: refs/heads/B`` or a SHA); None where git must be
        asked: GIT_DIR and the like set, ``.git`` a file (a linked work tree), unreadable, or
        refs kept in a reftable (whose ``HEAD`` file is a stub naming ``refs/heads/.invalid``)."""
        if _GIT_LOCATED.intersection(os.environ):
            return None
        git_dir = self.root / ".git"
        try:
            head = (git_dir / "HEAD").read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            return None
        return None if (git_dir / "reftable").is_dir() else head

    def dirty_paths(self, paths: list[Path]) -> list[str]:
        """Uncommitted or untracked files under ``paths`` (relative to the work tree)."""
        relative = [str(Path(p).resolve().relative_to(self.root)) for p in paths]
        try:
            status = self._git("status", "--porcelain", "--untracked-files=all", "--", *relative)
        except GitFailed as exc:
            raise _git_error("status", exc) from exc
        return [line[3:] for line in status.splitlines() if line.strip()]

    def unpushed(self) -> str:
        """'' when the repository has no remote or HEAD is on one of its remote branches;
        otherwise the names of the remotes HEAD is missing from. Uses the last fetched state
        of the remotes (no network)."""
        remotes = remote_names(self._remote_settings())
        if not remotes or not self.has_commits():
            return ""
        try:
            containing = self._git("branch", "-r", "--contains", "HEAD")
        except GitFailed as exc:
            raise _git_error("branch --contains", exc) from exc
        return "" if containing.strip() else ", ".join(remotes)

    def changed_files(self, base: str) -> list[str]:
        """Files changed between the merge base of ``base`` and HEAD (a pull request's files),
        relative to the work tree."""
        try:
            text = self._git("diff", "--name-only", "--no-renames", f"{base}...HEAD")
        except GitFailed as exc:
            raise _git_error(f"diff {base}...HEAD", exc) from exc
        return [line for line in text.splitlines() if line]

    def prefix_of(self, directory: Path) -> str:
        """``directory``'s place in the repository, for git paths: '' at the top, else the
        relative path ending in '/' (a registry may be a subdirectory of its repository)."""
        relative = Path(directory).resolve().relative_to(self.root).as_posix()
        return "" if relative == "." else relative + "/"

    def is_commit(self, ref: str) -> bool:
        """Whether ``ref`` names a commit in this repository."""
        try:
            self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GitFailed:
            return False
        return True

    def extract(self, ref: str, path: Path, destination: Path) -> bool:
        """Write the tree ``path`` as it is at ``ref`` into ``destination`` (same relative
        layout); False when ``path`` does not exist at ``ref``."""
        import tarfile

        relative = Path(path).resolve().relative_to(self.root).as_posix()
        archive = destination / ".extract.tar"
        try:
            self._git("archive", "--format=tar", "-o", str(archive), ref, "--", relative)
        except GitFailed:
            return False
        with tarfile.open(archive) as tar:
            tar.extractall(destination, filter="data")
        archive.unlink()
        return True

    def file_at(self, ref: str, path: Path) -> str | None:
        """The text of ``path`` at ``ref`` (None when it does not exist there)."""
        relative = Path(path).resolve().relative_to(self.root).as_posix()
        try:
            return self._git("show", f"{ref}:{relative}")
        except GitFailed:
            return None

    def log(self, path: Path) -> list[tuple[str, str, str, str]]:
        """Every commit touching ``path``, oldest first: (sha, ISO date, author, subject)."""
        relative = Path(path).resolve().relative_to(self.root).as_posix()
        try:
            text = self._git("log", "--reverse", "--format=%H%x1f%aI%x1f%an%x1f%s", "--", relative)
        except GitFailed as exc:
            raise _git_error("log", exc) from exc
        entries = []
        for line in text.splitlines():
            sha, date, author, subject = line.split("\x1f", 3)
            entries.append((sha, date, author, subject))
        return entries

    def writers(self, pathspec: str) -> dict[str, list[tuple[str, str, str]]]:
        """For each committed file matching ``pathspec`` (relative to the work tree): every
        commit that changed it, newest first, as (sha, author 'Name <email>', subject), from
        one ``git log``."""
        try:
            text = self._git(
                "log", "--format=%x1e%H%x1f%an <%ae>%x1f%s", "--name-only", "--", pathspec
            )
        except GitFailed as exc:
            raise _git_error("log", exc) from exc
        writers: dict[str, list[tuple[str, str, str]]] = {}
        for chunk in text.split("\x1e"):
            head, _, names = chunk.partition("\n")
            if head.count("\x1f") != 2:
                continue
            sha, author, subject = head.split("\x1f")
            for name in names.split("\n"):
                if name:
                    writers.setdefault(name, []).append((sha, author, subject))
        return writers

    def add_worktree(self, directory: Path, commit: str) -> None:
        """Check ``commit`` out into ``directory`` (detached), beside the registry's own tree."""
        try:
            self._git("worktree", "add", "--detach", "--quiet", str(directory), commit)
        except GitFailed as exc:
            raise _git_error(f"worktree add {commit[:12]}", exc) from exc

    def remove_worktree(self, directory: Path) -> None:
        """Remove a work tree :meth:`add_worktree` made (best effort: then prune)."""
        try:
            self._git("worktree", "remove", "--force", str(directory))
        except GitFailed:
            with contextlib.suppress(GitFailed):
                self._git("worktree", "prune")

    def merge_base(self, ref: str) -> str:
        """The commit where HEAD's history and ``ref``'s meet (what a pull request started
        from)."""
        try:
            return str(self._git("merge-base", ref, "HEAD")).strip()
        except GitFailed as exc:
            raise _git_error(f"merge-base {ref} HEAD", exc) from exc

    def versions(self, pathspecs: list[str]) -> list[tuple[str, str, str]]:
        """Every committed version of the files matching ``pathspecs`` (git glob pathspecs,
        relative to the work tree) in HEAD's history, oldest first: (commit, path, blob)."""
        try:
            text = self._git(
                "log",
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
        except GitFailed as exc:
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
            text = self._git("ls-tree", "-r", "--full-tree", ref, "--", *paths)
        except GitFailed as exc:
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
        data = self.plumbing("cat-file", "--batch", data=("\n".join(wanted) + "\n").encode())
        contents, offset = {}, 0
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
        """Whether HEAD names a commit (not before the first one)."""
        return bool(self.head())

    # -- the registry's remote: what SHREK publishes, and the compare-and-swap it relies on ----

    def clone_id(self) -> str:
        """This clone's identity (``shrek.clone`` in its own git configuration, made on first
        use): what a local run records so that only the clone that ran it follows it."""
        key = ".".join(CLONE_KEY)
        try:
            known = self._git(*LOCAL, "--get", key, accept=(0, 1)).strip()
        except GitFailed:  # an unreadable configuration: as if none was made
            known = ""
        if known:
            return known
        ident = os.urandom(16).hex()  # 128 random bits, as uuid4 (whose import costs 2 ms)
        with contextlib.suppress(GitFailed):  # read-only: it runs nothing, so needs no identity
            self._git("config", "--local", key, ident)
        return ident

    def remote_for(self, branch: str) -> str | None:
        """The remote ``branch`` is shared through: its configured upstream, else ``origin``,
        else the only remote; None when the repository has none (a one-clone registry)."""
        return remote_in(self._remote_settings(), branch)

    def _remote_settings(self) -> str:
        """The remotes and upstreams of the repository's own configuration (one ``git
        config`` per repository object)."""
        if self._remotes is None:
            try:
                self._remotes = self._git(
                    *LOCAL, "--null", "--get-regexp", REMOTE_KEYS, accept=(0, 1)
                )
            except GitFailed as exc:
                raise _git_error("config", exc) from exc
        return self._remotes

    def remote_url(self, remote: str) -> str | None:
        """The URL ``remote`` fetches from (None when there is no such remote)."""
        try:
            return self._git("remote", "get-url", "--", remote) or None
        except GitFailed:  # exit 2: no such remote
            return None

    def _network(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A git command that talks to a remote: never prompts, never hangs on a dead server,
        and a Ctrl-C is SHREK's to handle."""
        with no_interrupt():
            return subprocess.run(
                ["git", *args],
                cwd=self.root,
                capture_output=True,
                text=True,
                env={
                    **_git_environment(),
                    "GIT_HTTP_LOW_SPEED_LIMIT": "1000",
                    "GIT_HTTP_LOW_SPEED_TIME": "30",
                },
                timeout=300,
                check=False,
            )

    def fetch(self, remote: str, branch: str) -> str | None:
        """Fetch ``branch`` of ``remote`` into its remote-tracking ref and return the remote's
        tip (None when the remote has no such branch yet)."""
        tracking = f"refs/remotes/{remote}/{branch}"
        try:
            done = self._network(
                "fetch", "--quiet", "--no-tags", remote, f"+refs/heads/{branch}:{tracking}"
            )
        except subprocess.TimeoutExpired as exc:
            raise unreachable(remote, "fetch timed out") from exc
        if done.returncode != 0:
            detail = " ".join(done.stderr.split())
            if "couldn't find remote ref" in detail.lower():
                return None
            raise unreachable(remote, detail)
        return self.rev(tracking)

    def push(self, remote: str, sha: str, ref: str) -> bool:
        """Push ``sha`` to ``ref`` of ``remote``, never forced: True when the remote took it,
        False when it refused because the ref moved or already exists (another clone won the
        compare-and-swap: fetch and allocate again). Any other failure raises."""
        fault_point("before-push")
        try:
            done = self._network("push", "--porcelain", remote, f"{sha}:{ref}")
        except subprocess.TimeoutExpired as exc:
            raise unreachable(remote, "push timed out") from exc
        report = [
            line for line in done.stdout.splitlines() if line.startswith(("!", "*", " ", "="))
        ]
        if done.returncode == 0 and report:
            fault_point("after-push")
            return True
        text = " ".join((done.stdout + " " + done.stderr).split())
        if report and report[0].startswith("!") and _LOST_RACE.search(text):
            return False
        if not report:
            raise unreachable(remote, " ".join(done.stderr.split()))
        raise ShrekError(
            f"the remote '{remote}' refused the push of {ref}: {redact(text)}",
            "check that you may push to the registry's remote (branch protection, hooks); "
            "SHREK never forces a push",
            ExitCode.GIT,
        )

    def remote_refs(self, remote: str, pattern: str) -> dict[str, str]:
        """``git ls-remote``: the remote's refs matching ``pattern`` -> their SHAs."""
        try:
            done = self._network("ls-remote", "--refs", remote, pattern)
        except subprocess.TimeoutExpired as exc:
            raise unreachable(remote, "ls-remote timed out") from exc
        if done.returncode != 0:
            raise unreachable(remote, " ".join(done.stderr.split()))
        refs = {}
        for line in done.stdout.splitlines():
            sha, _, name = line.partition("\t")
            refs[name] = sha
        return refs

    def rev(self, ref: str) -> str | None:
        """The commit ``ref`` names, None when it names none."""
        try:
            return str(self._git("rev-parse", "-q", "--verify", f"{ref}^{{commit}}")).strip()
        except GitFailed:
            return None

    def reachable(self, ref: str) -> set[str]:
        """Every commit in the history of ``ref`` (one ``git rev-list``)."""
        try:
            return set(str(self._git("rev-list", ref)).split())
        except GitFailed as exc:
            raise _git_error(f"rev-list {ref}", exc) from exc

    def is_ancestor(self, older: str, newer: str) -> bool:
        try:
            self._git("merge-base", "--is-ancestor", older, newer)
        except GitFailed:
            return False
        return True

    def revs(self, *refs: str) -> list[str | None]:
        """The commits ``refs`` name (None for a ref that names none), in one ``rev-parse``."""
        with no_interrupt():
            done = subprocess.run(
                [
                    "git",
                    "rev-parse",
                    "--verify",
                    "-q",
                    "--end-of-options",
                    *[f"{r}^{{commit}}" for r in refs],
                ],
                cwd=self.root,
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode == 0:
            return list(done.stdout.split())
        return [self.rev(r) for r in refs]  # one of them names nothing: ask each

    def divergence(self, local: str, remote: str) -> tuple[list[tuple[str, bool, str]], int]:
        """Between two commits, in one ``git log``: the commits only ``local`` has (oldest
        first: sha, SHREK's own, subject) and how many only ``remote`` has."""
        entries = self._shrek_log("--left-right", f"{local}...{remote}")
        mine = [entry[1:] for entry in entries if entry[0] != ">"]
        return mine, len(entries) - len(mine)

    def commits(self, tip: str) -> list[tuple[str, bool, str]]:
        """Every commit of ``tip``'s history, oldest first: (sha, SHREK's own, subject)."""
        return [entry[1:] for entry in self._shrek_log(tip)]

    def _shrek_log(self, *spec: str) -> list[tuple[str, str, bool, str]]:
        """``git log --reverse`` of ``spec``: (side mark, sha, SHREK's own, subject) each,
        SHREK's own being the commits with :data:`PUBLISH_TRAILER`."""
        try:
            text = self._git(
                "log",
                "--reverse",
                "--format=%m%H%x1f%s%x1f%(trailers:key=Shrek-Publish,valueonly)%x1e",
                *spec,
            )
        except GitFailed as exc:
            raise _git_error("log", exc) from exc
        found = []
        for entry in text.split("\x1e"):
            entry = entry.strip("\n")  # not strip(): Python counts \x1f as white space
            if entry:
                sha, subject, mark = entry[1:].split("\x1f", 2)
                found.append((entry[0], sha, mark.strip() == "yes", subject))
        return found

    def changes(self, parent: str, commit: str) -> list[tuple[str, str]]:
        """The files ``commit`` changed against ``parent``: (status letter, path)."""
        try:
            text = self._git("diff", "--name-status", "--no-renames", parent, commit)
        except GitFailed as exc:
            raise _git_error("diff", exc) from exc
        return [
            (status, path)
            for status, _, path in (line.partition("\t") for line in text.splitlines() if line)
        ]

    def content(self, ref: str, path: str) -> bytes | None:
        """The bytes of ``path`` (relative to the work tree) at ``ref``; None where absent."""
        with no_interrupt():
            done = subprocess.run(
                ["git", "cat-file", "blob", f"{ref}:{path}"],
                cwd=self.root,
                capture_output=True,
                check=False,
            )
        return done.stdout if done.returncode == 0 else None

    def message(self, commit: str) -> str:
        return str(self._git("log", "-1", "--format=%B", commit))

    def commit_tree(self, parent: str, changes: dict[str, bytes | None], message: str) -> str:
        """A new commit on ``parent`` whose tree is the parent's with ``changes`` applied
        (path -> content, None deletes), made in a private index: neither the user's index nor
        work tree is touched."""
        import tempfile  # only here: every command that touches the repository imports this

        with tempfile.TemporaryDirectory(prefix="shrek-index-") as scratch:
            env = {**os.environ, "GIT_INDEX_FILE": str(Path(scratch) / "index")}

            def run(*args: str, data: bytes | None = None) -> str:
                return self.plumbing(*args, data=data, env=env).decode().strip()

            run("read-tree", parent)
            for path, data in sorted(changes.items()):
                if data is None:
                    run("update-index", "--force-remove", "--", path)
                else:
                    blob = run("hash-object", "-w", "--stdin", data=data)
                    run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
            tree = run("write-tree")
            return run("commit-tree", tree, "-p", parent, "-F", "-", data=message.encode())

    def claim_commit(self, message: str) -> str:
        """A commit of the empty tree with no parent (a label's claim on the remote): unique by
        its message, so two clones' claims are never the same object."""
        tree = self.plumbing("hash-object", "-t", "tree", "-w", "--stdin", data=b"")
        return (
            self.plumbing("commit-tree", tree.decode().strip(), "-F", "-", data=message.encode())
            .decode()
            .strip()
        )

    def plumbing(
        self, *args: str, data: bytes | None = None, env: dict[str, str] | None = None
    ) -> bytes:
        """A git plumbing command's output (bytes in, bytes out); a failure is git's own words
        and the check that finds what is wrong."""
        with no_interrupt():  # the user's Ctrl-C is SHREK's to handle, not git's
            done = subprocess.run(
                ["git", *args],
                cwd=self.root,
                env=env,
                input=data,
                capture_output=True,
                check=False,
            )
        if done.returncode != 0:
            raise ShrekError(
                f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}",
                "check the repository with 'git fsck'",
                ExitCode.GIT,
            )
        return done.stdout

    def update_ref(self, ref: str, new: str, old: str | None = None) -> None:
        """Move ``ref`` to ``new``; only if it still is ``old`` when that is given (a local
        compare-and-swap)."""
        try:
            self._git("update-ref", "-m", "shrek: publish", ref, new, *([old] if old else []))
        except GitFailed as exc:
            raise _git_error(f"update-ref {ref}", exc) from exc

    def reset_keep(self, commit: str) -> None:
        """Move the checked-out branch (or detached HEAD) to ``commit``, updating the files
        that differ; refused, changing nothing, if a file with uncommitted changes is among
        them (``git reset --keep``)."""
        try:
            self._git("reset", "--keep", "--quiet", commit)
        except GitFailed as exc:
            detail = " ".join((exc.stderr or str(exc)).split()).replace("stderr: ", "")
            raise ShrekError(
                f"cannot bring this checkout to {commit[:12]}: {detail}",
                "commit or stash the uncommitted changes named above, then re-run the command "
                "(SHREK's own commits are kept: nothing is lost)",
                ExitCode.OUT_OF_DATE,
            ) from exc

    def ensure_worktree(self, directory: Path, commit: str) -> GitRepo:
        """SHREK's own detached work tree at ``directory``, moved to ``commit``."""
        if not (directory / ".git").exists():
            with contextlib.suppress(GitFailed):
                self._git("worktree", "prune")
            self.add_worktree(directory, commit)
            return GitRepo(directory)
        other = GitRepo(directory)
        try:
            other._git("reset", "--hard", "--quiet", commit)
            other._git("clean", "-fdq")
        except GitFailed as exc:
            raise _git_error(f"reset of {directory}", exc) from exc
        return other


def unreachable(remote: str, detail: str) -> ShrekError:
    """The registry's remote could not be reached (network, server down, no access)."""
    return ShrekError(
        f"cannot reach the registry's remote '{remote}': {redact(detail) or 'no answer'}",
        "check the network and the remote's URL (git remote -v); test submissions (--test) "
        "work offline",
        ExitCode.REMOTE,
    )


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
