"""Ctrl-C where SHREK can keep its promises: never inside a git command, never half-way through a
hand-over to a backend.

The terminal sends Ctrl-C (SIGINT) to every process of the foreground group: SHREK and any git
it is running at that moment. A git killed half-way leaves ``index.lock`` behind or breaks the
pipe to a persistent ``cat-file``; a hand-over interrupted between the backend's answer and the
commit of the records leaves jobs running that no committed record mentions. So:

- :func:`no_interrupt` blocks SIGINT while it runs. A blocked signal mask is inherited by every
  child process (fork) and kept across exec, so the children started inside — git and its
  persistent helpers — never see the user's Ctrl-C; SHREK itself gets it, pending, the moment
  the block ends.
- :func:`deferred_interrupt` remembers a Ctrl-C (saying so) instead of raising it, and raises
  it as :class:`KeyboardInterrupt` when the critical section is complete.

Both act only in the main thread (where Python handles signals) and are no-ops elsewhere.
:func:`fault_point` is where the tests interrupt or kill SHREK on purpose.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def no_interrupt() -> Iterator[None]:
    """SIGINT blocked inside: children started here never see Ctrl-C; this process gets it
    when the block ends."""
    if not _main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class Deferred:
    """What :func:`deferred_interrupt` saw: ``pending`` after a Ctrl-C; ``clear()`` when the
    caller has stopped by itself and the interrupt must not be raised again."""

    def __init__(self) -> None:
        self.signals: list[int] = []

    @property
    def pending(self) -> bool:
        return bool(self.signals)

    def clear(self) -> None:
        self.signals.clear()


@contextmanager
def deferred_interrupt(notice: str) -> Iterator[Deferred]:
    """A Ctrl-C inside is printed as ``notice`` and raised as KeyboardInterrupt only when the
    block has completed (an error raised inside takes precedence and is not replaced); the
    block may look at ``pending`` to stop early at a safe point of its own."""
    seen = Deferred()
    if not _main_thread():
        yield seen
        return

    def remember(signum: int, frame: object) -> None:  # noqa: ARG001 (a signal handler's form)
        if not seen.pending:
            sys.stderr.write(notice + "\n")
            sys.stderr.flush()
        seen.signals.append(signum)

    previous = signal.signal(signal.SIGINT, remember)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)
    if seen.pending:
        raise KeyboardInterrupt


_PASSES: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Fail here, for real, when ``SHREK_FAULT_POINT`` names this point (on its
    ``SHREK_FAULT_NTH`` pass in this process, default the first).

    ``SHREK_FAULT_SIGNAL`` says how: ``KILL`` (the default) or ``TERM`` end this process;
    ``INT`` is what a terminal's Ctrl-C does — SIGINT to the whole foreground process group;
    ``RAISE`` raises an exception nothing expects, as a bug would.
    The fault-injection tests stop commands here — before and after every commit, around every
    backend call — and check what the command says and what the next one finds.
    """
    if os.environ.get("SHREK_FAULT_POINT") != name:
        return
    _PASSES[name] = _PASSES.get(name, 0) + 1
    if _PASSES[name] != int(os.environ.get("SHREK_FAULT_NTH", "1")):
        return
    how = os.environ.get("SHREK_FAULT_SIGNAL", "KILL")
    if how == "RAISE":  # a bug: an exception SHREK does not expect
        raise RuntimeError(f"fault injected at {name} (SHREK_FAULT_POINT)")
    if how == "INT":
        os.killpg(os.getpgrp(), signal.SIGINT)
    else:
        os.kill(os.getpid(), getattr(signal, f"SIG{how}"))
