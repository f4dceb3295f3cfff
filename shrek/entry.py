"""The ``shrek`` command's entry point: answers ``--version`` before importing anything.

Loading the command line (typer, rich, every command group) costs tens of milliseconds that
``shrek --version`` — run by scripts and CI to learn which SHREK is installed — need not pay.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from shrek import __version__

        print(f"shrek {__version__}")
        return
    from shrek.cli import main as run_command_line

    run_command_line()
