"""The ``shrek`` command's entry point: answers ``--version`` before importing anything, a
``--help`` asked before from the text kept then (:mod:`shrek.helpcache`), ``tag list``
(from its cache) and ``validate`` without loading typer (:mod:`shrek.cli.quick`), and a
``submit`` of a target and flags likewise (:mod:`shrek.cli.direct`).

Loading the command line (typer, rich, every command group) costs tens of milliseconds that
``shrek --version`` — run by scripts and CI to learn which SHREK is installed — need not pay.
"""

from __future__ import annotations

import os
import sys

from shrek import helpcache

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from typing import Any

    from shrek.cli.quick import Answer


def main() -> None:
    """Run ``shrek``; a Ctrl-C at any moment — even while Python still imports the command
    line — ends it with exit code 130 and one line, never a traceback."""
    sys.unraisablehook = _interrupt_in_a_finaliser
    try:
        if sys.argv[1:] == ["--version"]:
            from shrek import __version__

            sys.stdout.write(f"shrek {__version__}\n")
            return
        words = helpcache.asked(sys.argv[1:])
        if words is not None:
            text = helpcache.cached(words)
            if text is not None:  # the same question, the same code: the same answer
                sys.stdout.write(text)
                return
        if "SHREK_FAULT_POINT" in os.environ:  # the tests' Ctrl-C while the CLI is imported
            from shrek.interrupts import fault_point

            fault_point("startup")
        quick = _quick(sys.argv[1:]) if words is None else None
        direct = _direct(sys.argv[1:]) if words is None and quick is None else None
        if quick is None and direct is None:
            from shrek.cli.main import run
    except KeyboardInterrupt:
        sys.stderr.write("shrek: interrupted\n")
        sys.exit(130)
    if quick is not None:
        code = _write(quick)
    elif direct is not None:
        from shrek.cli.direct import submit

        code = submit(direct, sys.argv[1:])
    elif words is None:
        code = run()
    else:
        tee = helpcache.Tee(sys.stdout)
        sys.stdout = tee
        try:
            code = run()
        finally:
            sys.stdout = tee.stream
        if code == 0:
            helpcache.keep(words, "".join(tee.copy))
    try:  # what is still buffered: a reader that went away is not an error
        sys.stdout.flush()
    except BrokenPipeError:
        from shrek.cli.failure import closed_pipe

        code = closed_pipe()
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # done: nothing is left to interrupt
    sys.exit(code)


def _quick(argv: list[str]) -> Answer | None:
    """The answer of :mod:`shrek.cli.quick`, for the commands it may answer; None sends the
    command through typer — also after a bug there, which typer's run then reports (with its
    crash log) instead of a traceback."""
    if argv[:1] not in (["tag"], ["validate"]):
        return None
    from shrek.cli.quick import answer

    try:
        return answer(argv)
    except Exception:
        return None


def _direct(argv: list[str]) -> dict[str, Any] | None:
    """The options of a submit run without typer (:mod:`shrek.cli.direct`); None sends the
    command line through typer."""
    if argv[:1] != ["submit"]:
        return None
    from shrek.cli.direct import options

    return options(argv)


def _write(quick: Answer) -> int:
    """Print a quick answer (:mod:`shrek.cli.quick`) and give its exit code."""
    try:
        if quick.err:
            sys.stderr.write(quick.err)
        sys.stdout.write(quick.out)
    except BrokenPipeError:
        from shrek.cli.failure import closed_pipe

        return closed_pipe()
    return quick.code


_default_unraisable = sys.unraisablehook


def _interrupt_in_a_finaliser(info: object) -> None:
    """A Ctrl-C that lands while Python runs a finaliser (a ``__del__`` method) is
    "ignored" with a traceback on the terminal. It is sent again instead, so that it
    interrupts the command where it stands (exit 130), quietly; once the command has returned,
    Ctrl-C is ignored."""
    if getattr(info, "exc_type", None) is KeyboardInterrupt:
        import signal
        import threading

        # from another thread, a moment later: sent from here it would be raised (and
        # ignored) inside this hook
        threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGINT)).start()
        return
    _default_unraisable(info)  # type: ignore[arg-type]
