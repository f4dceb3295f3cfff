"""The typed shape of a submission record (``schemas/submission.schema.json``).

A record is read from YAML and written back to it, and every field keeps the name the schema
gives it, so the model is a set of ``TypedDict``: the record stays the plain data it is on
disk (nothing to convert, no field lost on a round trip), and mypy checks every key a reader
or a backend uses against this one declaration. ``tests/core/test_submission_model.py`` holds
it to the schema: the same keys, the same required ones.
"""

# No ``from __future__ import annotations`` here: on Python 3.11 a TypedDict sees NotRequired
# only when its annotations are evaluated as the class is made (``__required_keys__``).
from typing import Any, NotRequired, TypedDict


class BackendInfo(TypedDict):
    name: str  # local, panda
    version: str


class HistoryEntry(TypedDict):
    at: str  # UTC
    state: str
    note: NotRequired[str]


class Submitted(TypedDict):
    by: str
    at: str
    registry_commit: str
    shrek_version: str
    journal_commit: NotRequired[str]


class RecordDatasets(TypedDict):
    inputs: dict[str, str]  # declared dataset -> dataset read
    outputs: dict[str, str]  # output name -> dataset written
    rucio: NotRequired[dict[str, str]]  # output name -> its Rucio DID, once published


class SequenceRange(TypedDict):
    first: int
    last: int


class JobCounts(TypedDict, total=False):
    total: int
    done: int
    running: int
    failed: int
    pending: int


def no_jobs() -> JobCounts:
    """The counts of a submission no job of which has been seen yet."""
    return {"total": 0, "done": 0, "running": 0, "failed": 0, "pending": 0}


class FailureEntry(TypedDict):
    """One group of ``failures``: the jobs that failed for one reason
    (:class:`shrek.core.failures.FailureGroup` as written)."""

    reason: str
    count: int
    jobs: list[int]
    attempts: NotRequired[int]
    log: NotRequired[str]
    tail: NotRequired[list[str]]


class ProbeResult(TypedDict):
    jobs: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]


class SubmissionData(TypedDict):
    """One record, ``tags/<tag>/submissions/<step>/NNNN.yaml``."""

    schema_version: int
    id: str
    tag: str
    step: str
    number: int
    test: bool
    backend: BackendInfo
    ids: dict[str, Any]  # what the backend named it by (request, tasks, local run, clone)
    state: str
    history: list[HistoryEntry]
    submitted: Submitted
    freeze_digest: str | None
    datasets: RecordDatasets
    commands: dict[str, Any]  # exec, args, prun, wrapper_sha256 ...
    sequences: dict[str, SequenceRange]
    requirements: dict[str, Any]
    jobs: JobCounts
    workflow: NotRequired[list[str]]
    overridden_guards: NotRequired[list[str]]
    again: NotRequired[bool]
    tainted_inputs: NotRequired[dict[str, str]]
    reread: NotRequired[list[str]]
    failed_logs: NotRequired[list[str]]
    failures: NotRequired[list[FailureEntry]]
    probe: NotRequired[ProbeResult]
    backend_details: NotRequired[dict[str, Any]]
    extends: NotRequired[str]
