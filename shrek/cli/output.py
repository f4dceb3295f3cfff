"""How commands print what they found: JSON, a table, or one line saying there is nothing.

Every listing command offers ``--json``; without it, rows become a table on a terminal-wide
console (never narrower than the command asks), and an empty result is one helpful line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import typer

QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")
# A writing command's --json: what it did (ids, records, commits, datasets), as the JSON
# Schema schemas/output/<command>.schema.json says.
WROTE_JSON = typer.Option(
    False, "--json", help="Print what was done as JSON (schemas/output/ of SHREK)."
)
# A reading command's --json: what it found, as JSON.
AS_JSON = typer.Option(False, "--json", help="Print JSON.")


def json_option(help_text: str) -> Any:
    """A ``--json`` option whose help says what the JSON holds."""
    return typer.Option(False, "--json", help=help_text)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def show(
    rows: Sequence[Any],
    *,
    as_json: bool,
    empty: str,
    columns: Sequence[str],
    cells: Callable[[Any], Sequence[str]],
    json_rows: Callable[[Any], Any] = lambda row: row,
) -> None:
    """``rows`` as JSON, as a table of ``columns`` (each row's ``cells``), or ``empty``.

    The table is plain aligned text: it pipes into grep and awk, and 5,000 rows print in
    milliseconds (a rich table took three seconds). Six parameters: the three ways of showing a
    result each need theirs, and a command that lists something passes them all in one call.
    """
    if as_json:
        print_json([json_rows(row) for row in rows])
        return
    if not rows:
        typer.echo(empty)
        return
    table = [list(columns), *([str(cell) for cell in cells(row)] for row in rows)]
    widths = [max(len(line[n]) for line in table) for n in range(len(columns))]
    typer.echo(
        "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in table
        )
    )


def show_lines(
    rows: Sequence[Any],
    *,
    as_json: bool,
    empty: str,
    line: Callable[[Any], str],
    json_rows: Callable[[Any], Any] = lambda row: row,
) -> None:
    """``rows`` as JSON, one ``line`` each, or ``empty`` (for listings read line by line)."""
    if as_json:
        print_json([json_rows(row) for row in rows])
        return
    if not rows:
        typer.echo(empty)
    for row in rows:
        typer.echo(line(row))
