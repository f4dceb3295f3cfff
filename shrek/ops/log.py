"""``shrek log``: a tag's history as git tells it (created, frozen, submitted, state changes)."""

from __future__ import annotations

from dataclasses import dataclass

import git

from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo


@dataclass(frozen=True)
class Event:
    commit: str
    date: str
    author: str
    subject: str

    @property
    def kind(self) -> str:
        text = self.subject.removeprefix("shrek: ")
        for prefix, kind in (
            ("new tag", "created"),
            ("freeze", "frozen"),
            ("journal", "journalled"),
            ("submit", "submitted"),
            ("status", "state change"),
            ("retry", "retried"),
            ("kill", "killed"),
            ("submission refused", "refused"),
        ):
            if text.startswith(prefix):
                return kind
        return "edited"


def tag_history(registry: Registry, name: str) -> list[Event]:
    """Every commit touching the tag's directory, oldest first."""
    repo = GitRepo(registry.root)
    path = str(registry.tag_dir(name).relative_to(repo.root))
    try:
        text = repo.repo.git.log("--reverse", "--format=%H%x1f%aI%x1f%an%x1f%s", "--", path)
    except git.GitCommandError as exc:
        raise ShrekError(
            f"git log failed: {exc.stderr.strip()}", "check the repository", ExitCode.GIT
        ) from exc
    events = []
    for line in text.splitlines():
        commit, date, author, subject = line.split("\x1f", 3)
        events.append(Event(commit, date, author, subject))
    return events
