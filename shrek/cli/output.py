"""How commands print what they found: JSON, a table, or one line saying there is nothing.

Every listing command offers ``--json``; without it, rows become a table
(:func:`shrek.cli.text.rows_text`), and an empty result is one helpful line. Here: the shared
``--json`` and ``--quiet`` options, and printing through typer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import typer

from shrek.cli.text import json_text

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
    typer.echo(json_text(data))


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
