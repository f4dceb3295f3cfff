"""Commit-or-rollback for the commands that write registry files and commit them.

``submit`` has its own journal of what it sent. The other committing commands — ``tag new``,
``freeze``, ``invalidate``, ``void``, ``supersede``, ``dataset add``, ``init`` — write a few
files and commit them; stopped between the two they used to leave the files uncommitted for
ever (a re-run of ``freeze`` said "already frozen", ``submit`` refused the dirty tree), and a
Ctrl-C just after the commit rolled back what was already committed.

So each of them writes inside :func:`change`. Before the first write it journals what it is
about to touch (the paths, the commit it starts from, its commit subject) in
``.shrek/pending.json``; the commit and the removal of the journal happen with Ctrl-C held
back (:func:`~shrek.interrupts.no_interrupt`), so a Ctrl-C lands after both. A command stopped
harder (KILL, TERM, power loss) leaves the journal, and the next committing command settles it
first, under the registry lock (:func:`settle`):

- the journalled commit is in the history since its base: the change was made; say so;
- otherwise every journalled path goes back to what HEAD holds (files written removed, files
  rewritten restored), and the user is told which, and that the command can simply be re-run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from shrek.core.registry import Registry
from shrek.core.yamlio import write_atomic
from shrek.git import GitRepo
from shrek.interrupts import fault_point, no_interrupt
from shrek.redact import redact

JOURNAL = "pending.json"


class Change:
    """One committing command's change in progress: what it may touch, and whether it is
    committed yet."""

    def __init__(
        self,
        registry: Registry,
        repo: GitRepo,
        command: str,
        base: str,
        paths: list[Path] | None = None,
    ) -> None:
        self.registry = registry
        self.repo = repo
        self.command = command
        self.base = base
        self.paths: list[Path] = paths if paths is not None else []
        self.subject = ""
        self.committed = ""

    @property
    def journal(self) -> Path:
        return self.registry.state_dir / JOURNAL

    def touches(self, *paths: Path) -> None:
        """Journal ``paths`` before they are written (a file or a whole new directory)."""
        fresh = [p for p in paths if p not in self.paths]
        if fresh:
            self.paths.extend(fresh)
            self._save()

    def commit(
        self, message: str, paths: list[Path] | None = None, *, publish: bool = False
    ) -> str:
        """Commit ``paths`` (default: every journalled path) and drop the journal, with Ctrl-C
        held back until both are done. The journal learns the subject first: it is how a later
        :func:`settle` recognises the commit in the history."""
        self.subject = redact(message.strip().splitlines()[0])
        self._save()
        with no_interrupt():
            self.committed = self.repo.commit(
                [p for p in (paths or self.paths) if p.exists() or self._tracked(p)],
                message,
                publish=publish,
            )
            self._forget()
        return self.committed

    def roll_back(self) -> list[str]:
        """Every journalled path back to what HEAD holds; the paths that changed."""
        restored = self.repo.restore(self.paths)
        self._forget()
        return restored

    def _tracked(self, path: Path) -> bool:
        return self.repo.has_commits() and self.repo.file_at("HEAD", path) is not None

    def _save(self) -> None:
        self.registry.state_dir.mkdir(exist_ok=True)
        data = {
            "command": self.command,
            "subject": self.subject,
            "base": self.base,
            "pid": os.getpid(),
            "paths": [p.relative_to(self.registry.root).as_posix() for p in self.paths],
        }
        write_atomic(self.journal, json.dumps(data, indent=1) + "\n")
        fault_point("after-pending")

    def _forget(self) -> None:
        self.journal.unlink(missing_ok=True)


@contextmanager
def change(registry: Registry, repo: GitRepo, command: str) -> Iterator[Change]:
    """A change that is committed whole or not at all (the caller holds the registry lock).

    The caller journals each path with :meth:`Change.touches` before writing it and ends with
    :meth:`Change.commit`; any failure before the commit puts the paths back as HEAD has them.
    """
    settle(registry, repo)
    pending = Change(registry, repo, command, repo.head() if repo.has_commits() else "")
    pending._save()
    try:
        yield pending
    except BaseException:
        if not pending.committed:
            with no_interrupt(), suppress(Exception):
                # what stopped the command (a lock, a full disk) may stop this too: then the
                # journal stays, the next command settles it, and the first error is reported
                pending.roll_back()
        raise
    if not pending.committed:  # the caller found nothing to commit after all
        with no_interrupt():
            pending.roll_back()


def settle(registry: Registry, repo: GitRepo) -> None:
    """Finish the business of a committing command that was stopped (see the module's words):
    tell the user what it had done, and put back what it had not committed."""
    journal = registry.state_dir / JOURNAL
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        paths = [registry.root / p for p in data["paths"]]
        command, subject, base = data["command"], data["subject"], data["base"]
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError):
        journal.unlink(missing_ok=True)  # unreadable: written half by a killed command,
        return  # which had then not written any path yet
    if any(_outside(registry, p) for p in paths):
        journal.unlink(missing_ok=True)
        return
    made = _committed_since(repo, base, subject) if subject else ""
    if made:
        journal.unlink(missing_ok=True)
        registry.notify(f"shrek: the interrupted '{command}' had completed (commit {made[:12]})")
        return
    pending = Change(registry, repo, command, base, paths)
    restored = pending.roll_back()
    what = ", ".join(restored[:5]) + (f" and {len(restored) - 5} more" if len(restored) > 5 else "")
    registry.notify(
        f"shrek: '{command}' was interrupted before its commit; "
        + (f"put back as HEAD has them: {what}; " if restored else "it had written nothing; ")
        + "run it again to make the change"
    )


def interrupted_command(registry: Registry) -> str | None:
    """The committing command whose journal is still there (it was stopped), if any."""
    try:
        return str(
            json.loads((registry.state_dir / JOURNAL).read_text(encoding="utf-8"))["command"]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _outside(registry: Registry, path: Path) -> bool:
    """A journal is local state, but never trusted to name a path outside the registry."""
    try:
        path.resolve().relative_to(registry.root.resolve())
    except ValueError:
        return True
    return path.resolve() == registry.root.resolve() or ".git" in path.parts


def _committed_since(repo: GitRepo, base: str, subject: str) -> str:
    """The commit since ``base`` whose subject is ``subject`` ('' when none)."""
    if not repo.has_commits():
        return ""
    spec = f"{base}..HEAD" if base else "HEAD"
    with suppress(Exception):
        for sha, _, line in reversed(repo.commits(spec)):
            if line == subject:
                return sha
    return ""
