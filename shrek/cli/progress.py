"""Progress bars on a terminal, silence elsewhere.

Long operations (hashing gigabytes of resources, listing large datasets, running jobs) report
through a :class:`shrek.core.progress.Progress` callback; the one made here drives a rich
progress bar on stderr, and when stderr is not a terminal (CI, pipes) or ``--quiet`` is given
it does nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from shrek.core.progress import Advance, Progress, no_progress


def bars(quiet: bool) -> Progress:
    """The progress callback for a command: bars on a terminal unless ``--quiet``."""
    if quiet or not sys.stderr.isatty():
        return no_progress
    return progress_bar


@contextmanager
def progress_bar(description: str, total: int | None, unit: str = "bytes") -> Iterator[Advance]:
    """Yield ``advance(n)``; a bar is shown only on an interactive stderr."""
    if not sys.stderr.isatty() or not total:
        yield lambda _: None
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
