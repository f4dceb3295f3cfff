"""How a command that failed ends: one message with its fix on standard error, and the exit
code that names the kind of failure (never a traceback).

Shared by the full command line (:func:`shrek.cli.main.run`, which adds typer's own usage
errors) and the commands run without typer (:mod:`shrek.cli.direct`), so that a failure reads
the same whichever path ran the command.
"""

from __future__ import annotations

import os
import sys
from contextlib import suppress

from shrek.cli.say import say
from shrek.errors import ExitCode, ShrekError

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from collections.abc import Callable


def _to_stderr(text: str) -> None:
    say(text, err=True)


def report(error: BaseException, argv: list[str], tell: Callable[[str], None] = _to_stderr) -> int:
    """Say why the command ``argv`` failed with ``error`` (``tell`` writes to standard error:
    typer's echo on the full command line); its exit code."""
    if isinstance(error, ShrekError):  # a server's or git's words may quote a credential
        from shrek.redact import redact

        tell(redact(str(error)))
        return int(error.code)
    if isinstance(error, BrokenPipeError):  # the reader went away (shrek log | head)
        return closed_pipe()
    if isinstance(error, OSError):  # a path the user gave (or the disk) that cannot be used
        where = f" {error.filename}" if error.filename else ""
        tell(
            f"shrek: cannot use{where}: {error.strerror or error}\n"
            "    fix: check that the path exists and is writable, and the free space"
        )
        return int(ExitCode.FILESYSTEM)
    if isinstance(error, KeyboardInterrupt):
        tell("shrek: interrupted")
        return int(ExitCode.INTERRUPTED)
    if not isinstance(error, Exception):  # SystemExit, GeneratorExit: not a failure to report
        raise error
    from shrek.crash import write_crash_log  # a bug: one line, and the log a report can carry

    where = write_crash_log(error, argv)
    tell(
        f"shrek: unexpected error ({type(error).__name__}): this is a bug in SHREK\n"
        f"    fix: please report it with the crash log {where}"
    )
    return int(ExitCode.CRASH)


def closed_pipe() -> int:
    """Whatever is left for standard output goes nowhere (not into a traceback at exit)."""
    with suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return int(ExitCode.CLOSED_PIPE)
