"""The checked-records cache, ``.shrek/cache/records/<tag>.jsonl``: the data of every record
whose exact content (its sha256) passed its bounds and schema, so that a tag's history costs a
read and a hash per record instead of a YAML parse and a schema check.

A first line names the record schema the entries were checked against; then one line per
record, ``<sha256> <its data as JSON>``. A command that meets records the cache does not hold
appends their lines (a submit: the few records the last one wrote or changed) instead of
writing the whole file again, which for a tag of 400 records was 0.8 MB and 7 ms of encoding
in every submit. The file is written whole only when more of its lines are stale (records
since changed) than live.

An entry answers only for content with its digest, so a line that a crash lost or tore costs
one check, never a wrong answer: a line that does not parse is skipped, and a file that does
not end with a whole line is written whole rather than appended to.
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from pathlib import Path
from typing import Any, NamedTuple

from shrek.core import schema
from shrek.core.yamlio import write_atomic

FORMAT = "shrek checked records 1"
SLACK = 64  # stale lines allowed beyond the live ones before the file is written whole


class Checked(NamedTuple):
    """What the cache file holds: digest -> data, how many entry lines it has, and whether
    new lines can be appended (it is this schema's and ends with a whole line)."""

    entries: dict[str, Any]
    lines: int
    appendable: bool


def _header() -> str:
    return f"{FORMAT} {schema.fingerprint('submission')}\n"


def read_checked(path: Path) -> Checked:
    """The cache's entries; a missing, unreadable or other schema's file holds none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return Checked({}, 0, False)
    header = _header()
    if not text.startswith(header):
        return Checked({}, 0, False)
    lines = text[len(header) :].splitlines()
    digests, bodies = [], []
    for line in lines:
        digest, _, body = line.partition(" ")
        if len(digest) == 64 and body:
            digests.append(digest)
            bodies.append(body)
    try:  # every line whole (the usual case): one parse for all
        values = json.loads("[" + ",".join(bodies) + "]")
    except ValueError:
        values = []
    if len(values) != len(bodies):  # a torn or foreign line: each alone, the bad ones skipped
        values = [_parsed(body) for body in bodies]
    entries = {d: v for d, v in zip(digests, values, strict=True) if isinstance(v, dict)}
    return Checked(entries, len(lines), text.endswith("\n"))


def _parsed(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def remember(path: Path, checked: Checked, found: dict[str, Any], *, whole: bool) -> None:
    """Add the records in ``found`` (digest -> data) that ``checked`` lacks. ``whole``: they
    are every record of the tag, so any other entry is stale. A read-only checkout, or data
    JSON cannot hold, is checked again next time."""
    new = {d: data for d, data in found.items() if d and d not in checked.entries}
    text = _lines(new)
    if not text:
        return
    live = len(found) if whole else len(checked.entries) + len(new)
    if checked.appendable and checked.lines + len(new) <= 2 * live + SLACK:
        with suppress(OSError):
            _append(path, text)
            return
    text = _lines(found if whole else {**checked.entries, **new})
    if text:
        with suppress(OSError):
            write_atomic(path, _header() + text)
            path.with_suffix(".json").unlink(missing_ok=True)  # an earlier SHREK's whole-JSON file


def _lines(entries: dict[str, Any]) -> str:
    """The cache's lines for ``entries`` ('' when there are none, or JSON cannot hold one)."""
    try:
        return "".join(
            f"{digest} {json.dumps(data)}\n" for digest, data in entries.items() if digest
        )
    except (TypeError, ValueError):
        return ""


def _append(path: Path, text: str) -> None:
    """One ``write`` in append mode: lines of two commands never interleave."""
    data = text.encode("utf-8")
    handle = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        written = os.write(handle, data)
        while written < len(data):
            written += os.write(handle, data[written:])
    finally:
        os.close(handle)
