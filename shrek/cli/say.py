"""Printing as typer prints (``typer.echo``, which is click's ``echo``), without loading it.

The commands the command line runs without typer (:mod:`shrek.cli.quick`,
:mod:`shrek.cli.direct`) print through here, so that their text is exactly what the full
command line prints: one line and a newline, flushed at once (a progress line or a refusal is
seen while a submit still runs), terminal codes removed when the stream is not a terminal (a
server's or a job's text may carry them; a log file or a pipe should not), and UTF-8 written
to a stream that takes only ASCII.
"""

from __future__ import annotations

import re
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from typing import TextIO

_TERMINAL_CODE = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # the codes click removes


def say(text: str = "", *, err: bool = False) -> None:
    """Write ``text`` and a newline to standard output (``err``: standard error)."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:  # no stream attached: nothing to write to, as click does
        return
    out = text + "\n"
    if not _is_terminal(stream):
        out = _TERMINAL_CODE.sub("", out)
    try:
        stream.write(out)
    except UnicodeEncodeError:  # an ASCII stream (a C locale): UTF-8 bytes, as click writes
        binary = getattr(stream, "buffer", None)
        if binary is None:
            raise
        stream.flush()
        binary.write(out.encode("utf-8", "replace"))
    stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except Exception:  # a replaced stream without isatty: not a terminal, as click decides
        return False
