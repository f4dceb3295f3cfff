"""A command line loads only its command's module (shrek/cli/main.py), and the command line
behaves as if every command were loaded."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shrek.cli import main
from shrek.cli.app import app


def _registered() -> dict[str, str]:
    """Every command word of the full command line -> the module that registers it."""
    main.load_commands([])  # everything
    words = {
        (info.name or info.callback.__name__.replace("_", "-")): info.callback.__module__
        for info in app.registered_commands
    }
    for group in app.registered_groups:
        modules = {info.callback.__module__ for info in group.typer_instance.registered_commands}
        assert len(modules) == 1, (group.name, modules)  # a group's commands live together
        words[group.name] = modules.pop()
    return words


def test_the_table_names_the_module_of_every_command() -> None:
    assert {word: f"shrek.cli.{module}" for word, module in main.COMMANDS.items()} == _registered()
    assert set(main.COMMANDS.values()) == set(main.MODULES)


def _loaded(*argv: str) -> set[str]:
    script = (
        "import sys\n"
        "from shrek.cli import main\n"
        f"main.load_commands({list(argv)!r})\n"
        "print(' '.join(m for m in sys.modules if m.startswith('shrek.cli.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return {m.removeprefix("shrek.cli.") for m in done.stdout.split()} & set(main.MODULES)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["submit", "sP22aa", "--detach"], {"submit"}),
        (["-R", "/some/registry", "tag", "new"], {"tag"}),
        (["schema", "export"], {"registry"}),
        (["render-readme"], {"review"}),
        (["--help"], set(main.MODULES)),
        (["--registry=/r", "submit"], set(main.MODULES)),  # typer reads that option first
        (["subnit"], set(main.MODULES)),  # a misspelling: typer names the close ones
        ([], set(main.MODULES)),
    ],
)
def test_a_command_line_loads_its_module_only(argv: list[str], expected: set[str]) -> None:
    assert _loaded(*argv) == expected


def test_the_help_lists_commands_in_one_order_whatever_was_loaded_first() -> None:
    def help_after(*first: list[str]) -> str:
        script = (
            "import contextlib, io\n"
            "from shrek.cli.main import run\n"
            f"for argv in {list(first)!r}:\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        run(argv)\n"
            "run(['--help'])\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "100"},
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    fresh = help_after()
    assert "submit" in fresh and "provenance" in fresh
    # the last modules first: their commands would otherwise be listed first
    assert help_after(["graph", "--help"], ["provenance", "--help"]) == fresh
