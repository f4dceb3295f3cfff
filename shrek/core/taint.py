"""Invalidation travels downstream: what was made from invalid outputs is *tainted*.

``shrek invalidate`` marks submissions and their datasets invalid. Everything made from them
afterwards — by a later step of the same tag, or by another tag that read the dataset by
name — is not invalid itself (it may have been right to make it), but it is derived from
outputs nobody should trust, and every view says so, naming the invalid ancestor. A record
knows the datasets it read (``datasets.inputs``) and wrote, so the taint is a walk over the
registry's records from the invalid ones; the registry's events are read first, and with no
invalidation anywhere (the usual case) no record is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from shrek.core.layout import LIFECYCLE_DIR, SUBMISSIONS_DIR
from shrek.core.lifecycle import read_events
from shrek.core.records import Record, load_records


class Taint(NamedTuple):
    """Why something is tainted: the invalidated submission (or dataset) it derives from."""

    ancestor: str  # the invalidated submission id, or the invalidated dataset's name
    reason: str  # why that was invalidated

    def __str__(self) -> str:
        return f"derived from {self.ancestor}, invalidated: {self.reason}"


class Taints:
    """The registry's tainted submissions (by id) and datasets (by name)."""

    __slots__ = ("datasets", "invalid", "submissions")

    def __init__(self, invalid: dict[str, Taint] | None = None) -> None:
        self.submissions: dict[str, Taint] = {}
        self.datasets: dict[str, Taint] = {}  # derived from invalid ones
        self.invalid: dict[str, Taint] = invalid or {}  # invalid datasets themselves

    def count(self, tag: str) -> int:
        """How many of ``tag``'s submissions are tainted (their ids start with the tag)."""
        return sum(1 for ident in self.submissions if ident.startswith(f"{tag}/"))

    def of_record(self, record: Record) -> str:
        found = self.submissions.get(str(record.data.get("id")))
        return str(found) if found else ""

    def of_dataset(self, name: str) -> str:
        found = self.datasets.get(name)
        return str(found) if found else ""

    def of_inputs(self, inputs: list[str]) -> dict[str, Taint]:
        """The datasets among ``inputs`` that are tainted (invalid ones are refused as such)."""
        return {d: self.datasets[d] for d in inputs if d in self.datasets}

    def _bad(self, dataset: str) -> Taint | None:
        return self.invalid.get(dataset) or self.datasets.get(dataset)


# Complex by design: one pass over every record and event, on the hot path.
def registry_taints(tags_dir: Path) -> Taints:  # noqa: C901
    """Every tainted submission and dataset of the registry, each with its invalid ancestor.

    A dataset an invalidated submission wrote (or one invalidated by name) is *bad*; a
    submission that read a bad dataset, and is not invalidated itself, is tainted, and so are
    the datasets it wrote — to any depth, across tags.
    """
    bad: dict[str, Taint] = {}
    invalid_ids: dict[str, str] = {}
    by_name: dict[str, str] = {}  # datasets invalidated by name, with why
    for directory in sorted(tags_dir.glob(f"*/{LIFECYCLE_DIR}")):
        lifecycle = read_events(directory.parent)
        invalid_ids.update(lifecycle.invalid_submissions)
        for dataset, reason in lifecycle.invalid_datasets.items():
            by_name.setdefault(dataset, reason)
    if not invalid_ids and not by_name:
        return Taints()
    records = [
        record
        for directory in sorted(tags_dir.glob(f"*/{SUBMISSIONS_DIR}"))
        for record in load_records(directory.parent)
    ]
    for record in records:
        why = invalid_ids.get(str(record.data["id"]))
        if why is not None:
            for dataset in record.datasets_written:
                bad.setdefault(dataset, Taint(str(record.data["id"]), why))
    for dataset, reason in by_name.items():  # one no submission of the registry made
        bad.setdefault(dataset, Taint(dataset, reason))
    taints = Taints(invalid=bad)
    pending = [r for r in records if str(r.data["id"]) not in invalid_ids]
    changed = True
    while changed:  # a chain of n steps settles in n passes
        changed = False
        for record in pending:
            ident = str(record.data["id"])
            if ident in taints.submissions:
                continue
            source = next(
                (
                    found
                    for d in (record.data.get("datasets") or {}).get("inputs", {}).values()
                    if (found := taints._bad(d)) is not None
                ),
                None,
            )
            if source is None:
                continue
            taints.submissions[ident] = source
            for dataset in record.datasets_written:
                if dataset not in taints.invalid:
                    taints.datasets.setdefault(dataset, source)
            changed = True
    return taints
