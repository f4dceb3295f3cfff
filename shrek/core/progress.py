"""How long operations report progress without printing: a callback chosen by the caller.

The core and the use cases never draw anything. A long operation (hashing gigabytes of
resources, checksumming a large dataset) asks its ``progress`` argument for an ``advance(n)``
function; the command line passes one that drives a bar on a terminal (``shrek.cli.progress``),
everything else gets :func:`no_progress`, which does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

Advance = Callable[[int], None]


class Progress(Protocol):
    def __call__(
        self, description: str, total: int | None, unit: str = "bytes", /
    ) -> AbstractContextManager[Advance]: ...


def _ignore(_: int) -> None:
    return None


@contextmanager
def no_progress(_description: str, _total: int | None, _unit: str = "bytes") -> Iterator[Advance]:
    """The silent default: ``advance(n)`` does nothing (the arguments a Progress is given are
    positional: the bar's text, its total and its unit)."""
    yield _ignore
