"""The life of a production after its first submission: what happened to it, and its state.

A production is extended (more jobs), found wrong (invalidated) or replaced by a corrected tag
(superseded). Each of these is an **event**, an append-only YAML file committed into the tag:
``tags/<tag>/lifecycle/NNNN.yaml`` (schema ``schemas/lifecycle.schema.json``), never edited
or removed — the record of a production's life is as permanent as its submissions. (An
extension is a submission, and its record says ``extends``.)

A tag's **state** is derived, by :func:`tag_state` alone, from its files, its submission
records and its events:

========== ======================================================================
draft      no freeze: still being edited
frozen     frozen; no production submission yet (test submissions do not count)
submitted  a production submission is journalled or with the backend, none running yet
running    jobs of a production submission are running
failed     the newest production submission of some step failed, was killed, or has failed
           jobs ('partial')
done       the newest production submission of every step is done
invalidated every production submission of the tag is invalidated
superseded another tag replaces this one (shrek supersede)
========== ======================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from shrek.core import schema
from shrek.core.layout import LIFECYCLE_DIR
from shrek.core.records import ACTIVE, Record, load_records
from shrek.core.yamlio import dump_yaml, load_yaml
from shrek.errors import ExitCode, ShrekError

HEADER = (
    "# yaml-language-server: $schema=../../../schemas/lifecycle.schema.json\n"
    "# SHREK lifecycle event: written by 'shrek invalidate' or 'shrek supersede', append-only.\n"
    "# Never edit by hand. Schema: schemas/lifecycle.schema.json\n"
)
# What a tag in each state may still have done to it (the refusals name the fix). A
# superseded tag's production submissions are refused by submit's own guard.
ALLOWED = {
    "extend": {"done", "submitted", "running", "failed", "invalidated"},
    "invalidate": {"submitted", "running", "failed", "done", "invalidated", "superseded"},
    "supersede": {"frozen", "submitted", "running", "failed", "done", "invalidated"},
}


class Event(NamedTuple):
    number: int
    path: Path
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data["kind"])


class Lifecycle(NamedTuple):
    """A tag's events, read once: invalidated submissions and datasets, supersessions."""

    events: Sequence[Event] = ()

    @property
    def invalid_submissions(self) -> dict[str, str]:
        """submission id -> the reason it was invalidated (the first one)."""
        return self._invalidated("submissions")

    @property
    def invalid_datasets(self) -> dict[str, str]:
        """dataset name -> the reason it was invalidated (the first one)."""
        return self._invalidated("datasets")

    def _invalidated(self, what: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for event in self.events:
            if event.kind in ("invalidated", "voided"):
                for name in event.data.get(what, []):
                    found.setdefault(name, str(event.data["reason"]))
        return found

    def invalid_reason(self, submission: str) -> str:
        return self.invalid_submissions.get(submission, "")

    @property
    def voided(self) -> set[str]:
        """Submission ids voided as doubles (``shrek void``)."""
        return {s for e in self.events if e.kind == "voided" for s in e.data["submissions"]}

    @property
    def tag_voided(self) -> str:
        """Why the tag itself was voided (its label was issued twice), '' when it was not."""
        return next(
            (
                str(e.data["reason"])
                for e in self.events
                if e.kind == "voided" and "/" not in str(e.data["target"])
            ),
            "",
        )

    @property
    def superseded_by(self) -> str:
        return next((str(e.data["tag"]) for e in self.events if e.kind == "superseded"), "")

    @property
    def supersedes(self) -> list[str]:
        return [str(e.data["tag"]) for e in self.events if e.kind == "supersedes"]

    def next_number(self) -> int:
        return max((e.number for e in self.events), default=0) + 1


def read_events(tag_dir: Path) -> Lifecycle:
    """The tag's events, oldest first; a damaged one is refused loudly, like a record."""
    directory = tag_dir / LIFECYCLE_DIR
    if not directory.is_dir():
        return Lifecycle()
    events = []
    root = tag_dir.parent.parent
    for path in sorted(directory.glob("*.yaml")):
        relative = path.relative_to(root).as_posix()
        document, problems = load_yaml(path, relative)
        if document is not None and not problems:
            problems = schema.check(document, "lifecycle")
        if document is None or problems or not path.stem.isdigit():
            raise ShrekError(
                f"lifecycle event {relative} is damaged",
                "restore it from git (events are written by SHREK only)",
                ExitCode.INVALID,
                problems,
            )
        events.append(Event(int(path.stem), path, document.data))
    return Lifecycle(sorted(events, key=lambda e: e.number))


def invalid_datasets(tags_dir: Path) -> dict[str, tuple[str, str]]:
    """Every dataset any tag of the registry invalidated: name -> (tag, reason)."""
    found: dict[str, tuple[str, str]] = {}
    for directory in sorted(tags_dir.glob(f"*/{LIFECYCLE_DIR}")):
        for dataset, reason in read_events(directory.parent).invalid_datasets.items():
            found.setdefault(dataset, (directory.parent.name, reason))
    return found


def voided(tags_dir: Path) -> tuple[set[str], set[str]]:
    """What ``shrek void`` took out of the registry's double check: (submission ids, tag
    names whose label is voided)."""
    submissions: set[str] = set()
    tags: set[str] = set()
    for directory in sorted(tags_dir.glob(f"*/{LIFECYCLE_DIR}")):
        lifecycle = read_events(directory.parent)
        submissions |= lifecycle.voided
        if lifecycle.tag_voided:
            tags.add(directory.parent.name)
    return submissions, tags


def event_text(data: dict[str, Any]) -> str:
    return dump_yaml(data, HEADER, width=10_000)


def tag_state(
    tag_dir: Path, records: list[Record] | None = None, lifecycle: Lifecycle | None = None
) -> str:
    """The tag's state (see the module's table), from its files, records and events (each
    read here unless the caller has them)."""
    lifecycle = lifecycle if lifecycle is not None else read_events(tag_dir)
    if lifecycle.superseded_by:
        return "superseded"
    if records is None:
        submissions = tag_dir / "submissions"
        records = load_records(tag_dir) if submissions.is_dir() else []
    production = [r for r in records if not r.test and r.state != "abandoned"]
    invalid = lifecycle.invalid_submissions
    if production and all(str(r.data["id"]) in invalid for r in production):
        return "invalidated"
    valid = [r for r in production if str(r.data["id"]) not in invalid]
    if not valid:
        return "frozen" if (tag_dir / "freeze.yaml").is_file() else "draft"
    newest: dict[str, Record] = {}
    for record in valid:  # oldest first: the last one of each step wins
        newest[record.step] = record
    states = [r.state for r in newest.values()]
    if any(s == "running" for s in states):
        return "running"
    if any(s in ACTIVE for s in states):
        return "submitted"
    if any(s in ("failed", "partial", "killed", "cancelled") for s in states):
        return "failed"  # 'partial': some of its jobs failed (shrek retry runs them again)
    steps = {p.stem for p in (tag_dir / "job").glob("*.yaml")}
    if all(s == "done" for s in states) and steps <= newest.keys():
        return "done"
    return "submitted"


def refuse_transition(action: str, tag: str, state: str, fix: str) -> None:
    """Refuse ``action`` on a tag whose state does not allow it, naming the state and the fix."""
    if state not in ALLOWED[action]:
        raise ShrekError(
            f"{action} is not allowed for tag {tag}: it is {state}",
            fix,
            ExitCode.LIFECYCLE,
        )
