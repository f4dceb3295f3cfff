"""Backends: what runs the jobs. One interface; the implementations know nothing of each other.

``submit`` hands a prepared submission over and returns what the backend accepted; ``refresh``
reads the current state of a recorded submission; ``kill`` and ``retry`` act on one. Every
backend reports problems as ShrekError with exit code BACKEND, never as a traceback; one that
cannot tell whether its service acted raises :class:`Uncertain`. Everything backend-specific
(run ids, publishing outputs, monitor links) is behind this interface;
:mod:`shrek.backends.factory` picks the implementation.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from shrek.errors import ShrekError

if TYPE_CHECKING:  # types only: the local runner process imports this package at start-up
    from collections.abc import Mapping, Sequence

    from shrek.core.failures import JobFailure
    from shrek.core.model import Step, Tag
    from shrek.core.records import Record
    from shrek.core.registry import Registry
    from shrek.core.render import Options, Rendering
    from shrek.core.submission import FailureEntry, JobCounts, SubmissionData


NOTHING: Mapping[str, Any] = MappingProxyType({})  # an empty mapping, shared: never changed


class StepPlan(NamedTuple):
    """One step of a submission, as journalled."""

    step: str
    number: int
    record_path: Path
    first_sequence: int
    reserved: int  # how many sequence numbers (jobs at most) this submission may use
    inputs: dict[str, str]  # declared dataset -> dataset read
    outputs: dict[str, str]  # output name -> dataset written
    upstream_in_workflow: Sequence[str] = ()


class Submission(NamedTuple):
    """Everything a backend needs to start a submission of one step or a whole workflow."""

    registry: Registry
    tag: Tag
    steps: list[StepPlan]
    rendering: Rendering
    render_dir: Path
    run_id: str
    test: bool
    workers: int | None = None
    options: Mapping[str, Any] = NOTHING


class Uncertain(ShrekError):
    """The service may or may not have acted (no answer, an HTTP error, an unreadable reply):
    the record stays journalled and is reconciled later by looking the submission up."""


class Accepted:
    """What a backend accepted for one step: its identifiers (into the record's ``ids``) and
    what it said (into ``backend_details``, e.g. the server's log)."""

    __slots__ = ("details", "ids")

    def __init__(self, ids: dict[str, Any], details: dict[str, Any] | None = None) -> None:
        self.ids = ids
        self.details: dict[str, Any] = details if details is not None else {}


class StatusUpdate:
    """A backend's answer for one recorded submission: its state, job counts and what else it
    said."""

    __slots__ = ("details", "failures", "ids", "jobs", "note", "state")

    def __init__(
        self,
        state: str,
        jobs: JobCounts,
        note: str = "",
        ids: dict[str, Any] | None = None,
        failures: list[FailureEntry] | None = None,  # grouped: core.failures
        details: dict[str, Any] | None = None,
    ) -> None:
        self.state = state
        self.jobs = jobs
        self.note = note
        self.ids: dict[str, Any] = ids if ids is not None else {}
        self.failures: list[FailureEntry] = failures if failures is not None else []
        self.details: dict[str, Any] = details if details is not None else {}


class Check:
    """One offline check of a rendering (``shrek render --check``), filled in as it runs."""

    __slots__ = ("name", "notes", "problems", "skipped")

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []
        self.skipped = ""
        self.notes: list[str] = []  # worth reading, not failing

    @property
    def ok(self) -> bool:
        return not self.problems and not self.skipped


class WorkflowDescription(Protocol):
    """The distributed engine's description of a rendering: every rendering carries it, so
    the records keep its command lines whichever backend runs the jobs."""

    def default_scope(self, registry: Registry) -> str:
        """The scope output datasets are named in when the command does not say."""
        ...

    def files(
        self, tag: Tag, steps: list[Step], options: Options, digest: str | None
    ) -> dict[str, bytes]:
        """The files the engine reads, for the sandbox."""
        ...

    def commands(
        self, registry: Registry, tag: Tag, step: Step, options: Options
    ) -> dict[str, str]:
        """What a record keeps of one step's commands (``exec``, ``args``, ``prun``)."""
        ...

    def check(
        self, tag: Tag, rendering: Rendering, directory: Path, shellcheck_fails_on: str
    ) -> list[Check]:
        """Every offline check of a rendering written to ``directory``."""
        ...


class Backend(Protocol):
    name: str
    follows: bool  # whether 'shrek submit' waits for the jobs (unless --detach)
    kills_at_once: bool  # kill() returns when the jobs are gone; else 'shrek status' sees it

    def version(self) -> str: ...

    def new_run_id(self) -> str:
        """A fresh identifier for one submission run (journalled before the backend is called)."""
        ...

    def journal_ids(self, submission: Submission) -> dict[str, Any]:
        """The ids known before the backend is called (the local run names itself; PanDA's
        come from the server)."""
        ...

    def submission_options(self, tag: Tag, test: bool, options: dict[str, Any]) -> dict[str, Any]:
        """Settle backend-specific choices (credentials checked, dataset bases) up front."""
        ...

    def output_names(
        self,
        tag: Tag,
        steps: list[str],
        numbers: dict[str, int],
        test: bool,
        options: dict[str, Any],
    ) -> dict[str, dict[str, str]]:
        """step -> output name -> the dataset it is written to."""
        ...

    def details(self, submission: Submission) -> dict[str, dict[str, Any]]:
        """What to journal per step beyond the common record (task names, containers, ...)."""
        ...

    def check(self, submission: Submission) -> str:
        """Ask the backend whether it would accept the submission; raise if not."""
        ...

    def submit(self, submission: Submission) -> dict[str, Accepted]:
        """Start the submission; what was accepted, per step. Raises ShrekError for a refusal
        (nothing was started) and :class:`Uncertain` when it cannot tell."""
        ...

    def prefetch(self, records: list[SubmissionData]) -> None:
        """Read the state of many records in as few calls as the service allows, before
        each is refreshed (``shrek status``); a backend without such a call does nothing."""
        ...

    def refresh(self, record: SubmissionData) -> StatusUpdate: ...

    def failed_jobs(self, record: SubmissionData) -> list[JobFailure] | None:
        """Every failed job of the record's step, one by one (``shrek status --failed``);
        None where the backend knows only the record's grouped failures."""
        ...

    def measurements(self, record: SubmissionData) -> list[dict[str, Any]]:
        """What each job of the record used in its last attempt (exit, wall and CPU seconds,
        peak memory, output bytes), where this backend measures it; else empty."""
        ...

    def job(self, record: SubmissionData, sequence: int) -> dict[str, Any] | None:
        """This backend's own account of one job (its attempts and their exit statuses), where
        it keeps one on this machine; else None."""
        ...

    def needs_attention(self, record: Record) -> bool:
        """Whether a record that is no longer active still has work for this backend (the
        local backend's outputs waiting to be published to Rucio)."""
        ...

    def settle(self, record: Record) -> bool:
        """That work, after a refresh; True when the record changed."""
        ...

    def task_link(self, record: SubmissionData) -> str:
        """The record's task for a README: a Markdown link to a monitor, or the id, or ""."""
        ...

    def kill(self, record: SubmissionData) -> str: ...

    def retry(self, record: SubmissionData, overrides: dict[str, Any]) -> str: ...
