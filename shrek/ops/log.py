"""``shrek log``: a tag's history as git tells it (created, frozen, submitted, state changes,
invalidated, superseded)."""

from __future__ import annotations

from dataclasses import dataclass

from shrek.core.registry import Registry
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
            ("invalidate", "invalidated"),
            ("supersede", "superseded"),
        ):
            if text.startswith(prefix):
                return kind
        return "edited"


def tag_history(registry: Registry, name: str) -> list[Event]:
    """Every commit touching the tag's directory, oldest first."""
    return [Event(*entry) for entry in GitRepo(registry.root).log(registry.tag_dir(name))]
