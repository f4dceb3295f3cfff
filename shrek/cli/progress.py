"""Progress bars on a terminal, silence elsewhere.

Long operations (hashing gigabytes of resources, listing large datasets, running jobs) report
through a callback; on a terminal it drives a rich progress bar on stderr, and when stderr is
not a terminal (CI, pipes) or ``--quiet`` is given it does nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[int], None]


def _ignore(_: int) -> None:
    return None


@contextmanager
def progress_bar(
    description: str, total: int | None, *, quiet: bool = False, unit: str = "bytes"
) -> Iterator[Advance]:
    """Yield ``advance(n)``; a bar is shown only on an interactive stderr."""
    if quiet or not sys.stderr.isatty() or not total:
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = [TextColumn("{task.description}"), BarColumn()]
    if unit == "bytes":
        columns += [DownloadColumn(), TransferSpeedColumn()]
    else:
        columns += [MofNCompleteColumn()]
    columns.append(TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
