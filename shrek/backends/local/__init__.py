"""The local backend (the embedded default): jobs run on this machine, in parallel.

The backend itself is in :mod:`.backend`; the runner process that executes the jobs is
:mod:`.runner`. This package imports neither eagerly: the runner starts as
``python -m shrek.backends.local.runner``, which imports this package first, and a runner
that waited for the whole backend (render, records, catalogues) to import started 70 ms
later for every submission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shrek.backends.local.backend import LocalBackend

__all__ = ["LocalBackend"]


def __getattr__(name: str) -> Any:
    if name == "LocalBackend":
        from shrek.backends.local.backend import LocalBackend

        return LocalBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
