"""Running a command: typer parses it, a use case does it, and every error ends as a message.

:mod:`shrek.cli.app` holds the typer application; each command group is a module beside it
(:data:`MODULES`, in the order ``shrek --help`` lists them), which registers its commands on
import. A command line that names a command loads only that command's module, and typer
builds only its commands: building all 35 (their options, their annotations) cost 10 ms of
every command. Anything else (``shrek --help``, a misspelt command, a global option typer must
read first) loads them all.
"""

from __future__ import annotations

import importlib
import sys

import typer

from shrek.cli.app import app
from shrek.cli.failure import report
from shrek.errors import ExitCode
from shrek.interrupts import fault_point

__all__ = ["MODULES", "app", "load_commands", "main", "run"]

# The command modules, in the order 'shrek --help' lists their commands.
MODULES = ("registry", "tag", "freeze", "render", "submit", "lineage", "dataset", "review")
# The module of each command word (a group's word: the module of its subcommands).
COMMANDS = {
    **dict.fromkeys(("init", "upgrade", "validate", "site", "schema"), "registry"),
    **dict.fromkeys(("tag", "import"), "tag"),
    **dict.fromkeys(("freeze", "verify"), "freeze"),
    "render": "render",
    **dict.fromkeys(("submit", "status", "log", "kill", "retry", "probe"), "submit"),
    **dict.fromkeys(
        ("provenance", "reproduce", "extend", "invalidate", "void", "supersede"), "lineage"
    ),
    "dataset": "dataset",
    **dict.fromkeys(("render-readme", "diff", "graph", "review"), "review"),
}
_GLOBAL_WITH_VALUE = ("--registry", "-R")


def load_commands(argv: list[str]) -> None:
    """Register the commands ``argv`` needs: its command word's module, else every module.

    Commands are listed in :data:`MODULES` order whichever was loaded first (a process that
    runs several command lines, as the tests do, loads them over time)."""
    position = 0
    while position < len(argv) and argv[position].startswith("-"):
        if argv[position] not in _GLOBAL_WITH_VALUE:  # --version, --help, --registry=DIR
            break
        position += 2
    word = argv[position] if position < len(argv) else None
    wanted = [COMMANDS[word]] if word in COMMANDS else MODULES
    for name in wanted:
        importlib.import_module(f"shrek.cli.{name}")
    rank = {f"shrek.cli.{name}": number for number, name in enumerate(MODULES)}
    app.registered_commands.sort(
        key=lambda info: (
            rank.get(getattr(info.callback, "__module__", ""), len(rank)),
            getattr(getattr(info.callback, "__code__", None), "co_firstlineno", 0),
        )
    )


# -- entry point ------------------------------------------------------------------------------


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors become messages, never tracebacks."""
    try:
        fault_point("command")
        load_commands(sys.argv[1:] if argv is None else argv)
        # Not standalone: a usage error comes back here, to be said as every other error is
        code = app(args=argv, prog_name="shrek", standalone_mode=False)
        return int(code) if isinstance(code, int) else 0
    except typer.Abort:
        typer.echo("shrek: interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except typer.TyperException as error:  # click's, as typer vendors it
        if type(error).__name__ == "NoArgsIsHelpError":  # 'shrek' or 'shrek tag' alone
            typer.echo(error.format_message(), err=True)
            return int(ExitCode.USAGE)
        if getattr(error, "exit_code", 1) == ExitCode.USAGE:  # a UsageError
            typer.echo(usage_error(error), err=True)
            return int(ExitCode.USAGE)
        typer.echo(f"shrek: {error.format_message()}", err=True)
        return int(getattr(error, "exit_code", 1))
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else ExitCode.USAGE)
    except (Exception, KeyboardInterrupt) as error:  # SHREK's refusals, the disk, a bug
        return report(error, sys.argv[1:] if argv is None else argv, _tell)
    return 0


def _tell(text: str) -> None:
    typer.echo(text, err=True)


def usage_error(error: typer.TyperException) -> str:
    """A wrong command line in SHREK's words: what is wrong, and where the usage is."""
    context = getattr(error, "ctx", None)
    command = context.command_path if context is not None else "shrek"
    message = " ".join(error.format_message().split())
    return f"shrek: {message}\n    fix: see '{command} --help'"


def main() -> None:
    sys.exit(run())
