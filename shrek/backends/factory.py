"""Pick the backend: the registry's (``backend:`` in shrek.yaml) or the one a command names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shrek.backends import Backend, WorkflowDescription
from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError

BACKENDS = ("local", "panda")


def get_backend(
    registry: Registry, name: str | None = None, overrides: Mapping[str, Any] | None = None
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


def workflow_description() -> WorkflowDescription:
    """PanDA's description of a rendering (its CWL and prun lines), which every rendering
    carries whichever backend runs the jobs."""
    from shrek.backends.panda.describe import PandaWorkflow

    return PandaWorkflow()
