"""How results become text — a JSON document or an aligned table — without typer, so that the
quick answers of :mod:`shrek.cli.quick` print exactly what the full command line prints."""

from __future__ import annotations

import json

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any


def json_text(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str)


def rows_text(
    rows: Sequence[Any],
    *,
    as_json: bool,
    empty: str,
    columns: Sequence[str],
    cells: Callable[[Any], Sequence[str]],
    json_rows: Callable[[Any], Any] = lambda row: row,
) -> str:
    """``rows`` as JSON, as a table of ``columns`` (each row's ``cells``), or ``empty``.

    The table is plain aligned text: it pipes into grep and awk, and 5,000 rows print in
    milliseconds (a rich table took three seconds). Six parameters: the three ways of showing a
    result each need theirs, and a command that lists something passes them all in one call.
    """
    if as_json:
        return json_text([json_rows(row) for row in rows])
    if not rows:
        return empty
    table = [list(columns), *([str(cell) for cell in cells(row)] for row in rows)]
    widths = [max(len(line[n]) for line in table) for n in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    )
