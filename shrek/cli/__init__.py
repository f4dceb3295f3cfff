"""The ``shrek`` command line: parse, call a use case, print. No logic lives here.

:mod:`shrek.cli.app` holds the typer application; each command group is a module beside it
(``registry``, ``tag``, ``freeze``, ``render``, ``submit``, ``lineage``, ``dataset``,
``review``), imported here in the order ``shrek --help`` lists them.
"""

from __future__ import annotations

import sys

import typer

# The command groups register themselves on import, in the order 'shrek --help' lists them.
# isort: off
from shrek.cli import registry, tag, freeze, render, submit, lineage, dataset, review  # noqa: F401

# isort: on
from shrek.cli.app import app
from shrek.errors import ExitCode, ShrekError

__all__ = ["app", "main", "run"]


# -- entry point ------------------------------------------------------------------------------


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors become messages, never tracebacks."""
    try:
        # Standalone mode: typer reports its own usage errors and always ends in SystemExit.
        app(args=argv, prog_name="shrek")
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else ExitCode.USAGE)
    except ShrekError as error:  # a server's or git's words may quote a credential
        from shrek.redact import redact

        typer.echo(redact(str(error)), err=True)
        return int(error.code)
    except OSError as error:  # a path the user gave (or the disk) that cannot be used
        where = f" {error.filename}" if error.filename else ""
        typer.echo(
            f"shrek: cannot use{where}: {error.strerror or error}\n"
            "    fix: check that the path exists and is writable, and the free space",
            err=True,
        )
        return int(ExitCode.FILESYSTEM)
    except KeyboardInterrupt:
        typer.echo("shrek: interrupted", err=True)
        return 130
    return 0


def main() -> None:
    sys.exit(run())
