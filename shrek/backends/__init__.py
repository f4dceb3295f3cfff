"""Backends: what runs the jobs. One interface; the implementations know nothing of each other.

``submit`` hands a prepared submission over and returns what the backend accepted; ``refresh``
reads the current state of a recorded submission; ``kill`` and ``retry`` act on one. Every
backend reports problems as ShrekError with exit code BACKEND, never as a traceback; one that
cannot tell whether its service acted raises :class:`Uncertain`. Everything backend-specific
(run ids, publishing outputs, monitor links) is behind this interface;
:mod:`shrek.backends.factory` picks the implementation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shrek.errors import ShrekError

if TYPE_CHECKING:  # types only: the local runner process imports this package at start-up
    from shrek.core.model import Tag
    from shrek.core.registry import Registry
    from shrek.core.render import Rendering


@dataclass
class StepPlan:
    """One step of a submission, as journalled."""

    step: str
    number: int
    record_path: Path
    first_sequence: int
    reserved: int  # how many sequence numbers (jobs at most) this submission may use
    inputs: dict[str, str]  # declared dataset -> dataset read
    outputs: dict[str, str]  # output name -> dataset written
    upstream_in_workflow: list[str] = field(default_factory=list)


@dataclass
class Submission:
    """Everything a backend needs to start a submission of one step or a whole workflow."""

    registry: Registry
    tag: Tag
    steps: list[StepPlan]
    rendering: Rendering
    render_dir: Path
    run_id: str
    test: bool
    workers: int | None = None
    options: dict[str, Any] = field(default_factory=dict)


class Uncertain(ShrekError):
    """The service may or may not have acted (no answer, an HTTP error, an unreadable reply):
    the record stays journalled and is reconciled later by looking the submission up."""


@dataclass
class Accepted:
    """What a backend accepted for one step: its identifiers (into the record's ``ids``) and
    what it said (into ``backend_details``, e.g. the server's log)."""

    ids: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class StatusUpdate:
    state: str
    jobs: dict[str, int]
    note: str = ""
    ids: dict[str, Any] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)  # grouped: core.failures
    details: dict[str, Any] = field(default_factory=dict)


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

    def refresh(self, registry: Registry, record: dict[str, Any]) -> StatusUpdate: ...

    def needs_attention(self, record: Any) -> bool:
        """Whether a record that is no longer active still has work for this backend (the
        local backend's outputs waiting to be published to Rucio)."""
        ...

    def settle(self, record: Any) -> bool:
        """That work, after a refresh; True when the record changed."""
        ...

    def task_link(self, record: dict[str, Any]) -> str:
        """The record's task for a README: a Markdown link to a monitor, or the id, or ""."""
        ...

    def kill(self, registry: Registry, record: dict[str, Any]) -> str: ...

    def retry(
        self, registry: Registry, record: dict[str, Any], overrides: dict[str, Any]
    ) -> str: ...
