"""Backends: what runs the jobs. One interface, chosen per registry (``backend:``) or command.

``submit`` hands a prepared submission over and returns the backend's identifiers; ``refresh``
reads the current state of a recorded submission; ``kill`` and ``retry`` act on one. Every
backend reports problems as ShrekError with exit code BACKEND, never as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shrek.errors import ExitCode, ShrekError
from shrek.model import Tag
from shrek.registry import Registry
from shrek.render import Rendering


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

    def version(self) -> str: ...

    def dataset_name(self, tag: str, step: str, output: str, number: int, test: bool) -> str:
        """The dataset a step's output is written to."""
        ...

    def submit(self, submission: Submission) -> dict[str, dict[str, Any]]:
        """Start the submission; return the identifiers per step."""
        ...

    def refresh(self, registry: Registry, record: dict[str, Any]) -> StatusUpdate: ...

    def kill(self, registry: Registry, record: dict[str, Any]) -> str: ...

    def retry(
        self, registry: Registry, record: dict[str, Any], overrides: dict[str, Any]
    ) -> str: ...


BACKENDS = ("local", "panda")


def get_backend(registry: Registry, name: str | None = None) -> Backend:
    name = name or registry.settings.get("backend", "local")
    if name == "local":
        from shrek.backends.local import LocalBackend

        return LocalBackend(registry)
    if name == "panda":
        raise ShrekError(
            "the panda backend is not part of this version of SHREK yet",
            "use --backend local",
            ExitCode.USAGE,
        )
    raise ShrekError(
        f"unknown backend '{name}'", f"choose one of: {', '.join(BACKENDS)}", ExitCode.USAGE
    )
