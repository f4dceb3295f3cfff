"""Follow a running submission in the foreground: a progress bar on a terminal, lines elsewhere.

Ctrl-C kills the submission's jobs (through its backend) before giving the terminal back; the
records then show ``killed`` and are committed by the caller. The polling is
:class:`shrek.ops.watch.Watch`; this module only shows what it returns.
"""

from __future__ import annotations

import sys

from shrek.interrupts import no_interrupt
from shrek.ops.watch import Watch


def follow(watch: Watch, *, quiet: bool = False) -> None:
    interactive = sys.stderr.isatty() and not quiet
    try:
        if interactive:
            _follow_with_bar(watch)
            return
        last_states: dict[str, str] = {}
        for updates in watch.updates():
            for step, update in updates.items():
                if last_states.get(step) != update.state and not quiet:
                    jobs = update.jobs
                    print(
                        f"shrek: {step}: {update.state} ({jobs.get('done', 0)}/"
                        f"{jobs.get('total', 0)} done, {jobs.get('failed', 0)} failed)",
                        file=sys.stderr,
                        flush=True,
                    )
                    last_states[step] = update.state
    except KeyboardInterrupt:
        print("shrek: interrupted: killing the submission's jobs ...", file=sys.stderr)
        with no_interrupt():  # a second Ctrl-C does not stop the kill half-way
            watch.kill()
        raise


def _follow_with_bar(watch: Watch) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "running {task.fields[running]}  failed {task.fields[failed]}  {task.fields[state]}"
        ),
    ]
    with Progress(*columns, console=Console(stderr=True)) as bar:
        tasks = {
            r.step: bar.add_task(
                f"{r.step} #{r.number:04d}", total=None, running=0, failed=0, state="submitted"
            )
            for r in watch.records
        }
        for updates in watch.updates():
            for step, update in updates.items():
                jobs = update.jobs
                bar.update(
                    tasks[step],
                    total=jobs.get("total") or None,
                    completed=jobs.get("done", 0) + jobs.get("failed", 0),
                    running=jobs.get("running", 0),
                    failed=jobs.get("failed", 0),
                    state=update.state,
                )
