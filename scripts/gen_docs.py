"""Write the generated pages of the documentation from the code, or check they are current.

- ``docs/reference/commands.md``: every command's ``--help``, as click formats it (80
  columns), walked from the typer application itself;
- ``docs/reference/exit-codes.md``: :class:`shrek.errors.ExitCode` with
  :data:`shrek.errors.MEANINGS`;
- ``docs/index.md``: the README, its links made relative to ``docs/``.

``python scripts/gen_docs.py`` writes them; ``--check`` exits 1 naming each page that differs
(``make lint`` and ``tests/test_docs.py`` run it), so a changed option or exit code cannot
leave the documentation behind.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import typer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SOURCE = "https://github.com/BNLNPPS/shrek/blob/main"  # where files outside docs/ are read
WIDTH = 80


def _commands(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    """Every command of the tree, depth first, in the order ``--help`` lists them (typer
    carries its own copy of click: its classes are reached through the commands)."""
    found = [(path, command)]
    if hasattr(command, "list_commands"):
        context = command.context_class(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None and not sub.hidden:
                found += _commands(sub, [*path, name])
    return found


def commands_page() -> str:
    from shrek.cli.main import app, load_commands

    load_commands([])  # every command

    root = typer.main.get_command(app)
    parts = [
        "# Command reference\n",
        "Generated from the code by `scripts/gen_docs.py` (`make docs`): what "
        "`shrek COMMAND --help` prints. What each command is for: [Commands](../commands.md).\n",
    ]
    for path, command in _commands(root, ["shrek"]):
        parent = None
        for name in path[:-1]:  # the parents' contexts, for the usage line
            parent = root.context_class(root, info_name=name, parent=parent)
        context = command.context_class(
            command,
            info_name=path[-1],
            parent=parent,
            max_content_width=WIDTH,
            terminal_width=WIDTH,
        )
        title = " ".join(path)
        parts.append(f"## `{title}`\n\n```text\n{command.get_help(context).rstrip()}\n```\n")
    return "\n".join(parts)


def exit_codes_page() -> str:
    from shrek.errors import MEANINGS, ExitCode

    rows = [f"| {int(code)} | {code.name} | {_cell(MEANINGS[code])} |" for code in ExitCode]
    return "\n".join(
        [
            "# Exit codes\n",
            "Generated from `shrek/errors.py` (`ExitCode` and `MEANINGS`) by "
            "`scripts/gen_docs.py`. No user mistake produces a traceback; every refusal says "
            "what is wrong and how to fix it.\n",
            "| code | name | meaning |",
            "| --- | --- | --- |",
            *rows,
            "",
        ]
    )


def index_page() -> str:
    """The site's home page: the README, its links made relative to docs/ (a file outside
    docs/ is linked on the code host)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")

    def relink(match: re.Match[str]) -> str:
        target = match.group(1)
        if "://" in target or target.startswith("#"):
            return match.group(0)
        if target.startswith("docs/"):
            return f"]({target.removeprefix('docs/')})"
        return f"]({SOURCE}/{target})"

    return (
        "<!-- Generated from README.md by scripts/gen_docs.py (make docs): edit README.md -->\n"
        + re.sub(r"\]\(([^)]+)\)", relink, text)
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a pipe inside a table cell


PAGES = {
    "reference/commands.md": commands_page,
    "reference/exit-codes.md": exit_codes_page,
    "index.md": index_page,
}


def main(argv: list[str]) -> int:
    os.environ["COLUMNS"] = str(WIDTH)
    check = "--check" in argv
    stale = []
    for name, make in PAGES.items():
        path = DOCS / name
        text = make()
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.relative_to(ROOT).as_posix())
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for page in stale:
        print(f"{page} is out of date: run 'make docs' (python scripts/gen_docs.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
