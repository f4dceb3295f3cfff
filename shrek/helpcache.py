"""``shrek … --help`` answered without loading the command line, from the text the command
line printed for the same question before.

Building typer's help imports typer and click (about 60 ms) to print text that changes only
when SHREK's code or the terminal's width does. The first ``--help`` of a command is printed
by typer and kept under ``$XDG_CACHE_HOME/shrek/help/``, keyed by everything its text
depends on: the words asked, SHREK's version and every module's path, size and modification
time, the installed typer and Python, and the width click formats for. The file repeats its
whole key on its first line and is used only when that line matches, so it never answers for
other code or another width.
"""

from __future__ import annotations

import os
import sys
import zlib

from shrek import __version__

TYPE_CHECKING = False  # not typing's: importing typing costs this fast path 2 ms
if TYPE_CHECKING:
    from typing import TextIO

HELP = ("--help", "-h")
COMMAND_WORD = set("abcdefghijklmnopqrstuvwxyz-")


def asked(argv: list[str]) -> list[str] | None:
    """The command words of a plain help question (``tag new --help``), else None: options
    before ``--help`` may be values of others, and typer decides those."""
    if not argv or argv[-1] not in HELP:
        return None
    words = argv[:-1]
    if all(word and set(word) <= COMMAND_WORD and not word.startswith("-") for word in words):
        return words
    return None


def _key(words: list[str]) -> str:
    package = os.path.dirname(os.path.abspath(__file__))
    parts = [__version__, " ".join(words), str(_width()), sys.version, _typer()]
    for root, directories, files in os.walk(package):
        directories.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(root, name))
                parts.append(f"{root[len(package) :]}/{name} {info.st_size} {info.st_mtime_ns}")
    return "\0".join(parts)


def _typer() -> str:
    """The installed typer (which formats the help), found without importing it."""
    for entry in sys.path:
        try:
            info = os.stat(os.path.join(entry or ".", "typer", "__init__.py"))
        except OSError:
            continue
        return f"typer {entry} {info.st_size} {info.st_mtime_ns}"
    return "typer ?"


def _width() -> int:
    """The width click wraps help at: ``COLUMNS``, else the terminal's, else 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    stream = sys.__stdout__  # None where Python started without one
    try:
        return os.get_terminal_size(stream.fileno()).columns if stream else 80
    except (AttributeError, ValueError, OSError):
        return 80


def _path(key: str) -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "shrek", "help", f"{zlib.crc32(key.encode()):08x}.txt")


def _header(key: str) -> str:
    return f"{key!r}\n"


def cached(words: list[str]) -> str | None:
    """The help text kept for these words and this code, if there is one."""
    key = _key(words)
    try:
        with open(_path(key), encoding="utf-8") as handle:
            header = handle.readline()
            if header != _header(key):
                return None
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def keep(words: list[str], text: str) -> None:
    """Keep the help text typer printed (replaced whole; a cache that cannot be written is
    no error: the next --help is slower, nothing else)."""
    key = _key(words)
    path = _path(key)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(_header(key) + text)
        os.replace(temporary, path)
    except OSError:
        pass


class Tee:
    """Standard output as typer writes to it, with a copy of what it wrote."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.copy: list[str] = []

    def write(self, text: str | bytes) -> int:
        # click hands over bytes on some paths, which the real stream takes as they are
        self.copy.append(text if isinstance(text, str) else text.decode("utf-8", "replace"))
        return self.stream.write(text)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)
