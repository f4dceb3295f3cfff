"""Backends: what runs the jobs. One interface, chosen per registry (``backend:``) or command.

``submit`` hands a prepared submission over and returns the backend's identifiers; ``refresh``
reads the current state of a recorded submission; ``kill`` and ``retry`` act on one. Every
backend reports problems as ShrekError with exit code BACKEND, never as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shrek.core.model import Tag
from shrek.core.registry import Registry
from shrek.core.render import Rendering
from shrek.errors import ExitCode, ShrekError


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


@dataclass
class StatusUpdate:
    state: str
    jobs: dict[str, int]
    note: str = ""
    ids: dict[str, Any] = field(default_factory=dict)
    failed_logs: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    name: str
    follows: bool  # whether 'shrek submit' waits for the jobs (unless --detach)

    def version(self) -> str: ...

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

    def submit(self, submission: Submission) -> dict[str, dict[str, Any]]:
        """Start the submission; return the identifiers per step (``log``/``sandbox``
        entries go into the record's backend details)."""
        ...

    def refresh(self, registry: Registry, record: dict[str, Any]) -> StatusUpdate: ...

    def kill(self, registry: Registry, record: dict[str, Any]) -> str: ...

    def retry(
        self, registry: Registry, record: dict[str, Any], overrides: dict[str, Any]
    ) -> str: ...


BACKENDS = ("local", "panda")


def get_backend(
    registry: Registry, name: str | None = None, overrides: dict[str, Any] | None = None
) -> Backend:
    """The backend ``name`` (default: the registry's), with per-command setting overrides."""
    name = name or registry.settings.get("backend", "local")
    if name == "local":
        from shrek.backends.local import LocalBackend

        return LocalBackend(registry)
    if name == "panda":
        from shrek.backends.panda import PandaBackend

        return PandaBackend(registry, overrides)
    raise ShrekError(
        f"unknown backend '{name}'", f"choose one of: {', '.join(BACKENDS)}", ExitCode.USAGE
    )
