"""Every git operation SHREK performs, in one place (through GitPython).

SHREK commits only the files it wrote (``git commit -- <paths>``), never whatever else happens
to be staged, and runs the real ``git`` so that the registry's own hooks and settings apply.
"""

from __future__ import annotations

from pathlib import Path

import git

from shrek.errors import ExitCode, ShrekError


def _git_error(action: str, exc: git.GitCommandError) -> ShrekError:
    detail = (exc.stderr or exc.stdout or str(exc)).strip().replace("stderr: ", "")
    detail = " ".join(detail.strip("'").split())
    return ShrekError(
        f"git {action} failed: {detail}",
        "fix the git problem above, then re-run the command",
        ExitCode.GIT,
    )


class GitRepo:
    """The git work tree a registry lives in (the registry may be a subdirectory of it)."""

    def __init__(self, path: Path) -> None:
        try:
            self.repo = git.Repo(path, search_parent_directories=True)
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
            git.Repo.init(path, initial_branch="main")
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
        relative = [str(Path(p).resolve().relative_to(self.root)) for p in paths]
        try:
            self.repo.git.add("--all", "--", *relative)
            self.repo.git.commit("--quiet", "-m", message, "--", *relative)
        except git.GitCommandError as exc:
            if self.has_commits():
                self.repo.git.reset("--quiet", "--", *relative)
            else:
                self.repo.git.rm("--cached", "-r", "--quiet", "--ignore-unmatch", "--", *relative)
            raise _git_error("commit", exc) from exc
        return self.repo.head.commit.hexsha

    def has_commits(self) -> bool:
        try:
            self.repo.head.commit  # noqa: B018 - raises when the branch has no commit yet
        except ValueError:
            return False
        return True
