"""Running a command: typer parses it, a use case does it, and every error ends as a message.

:mod:`shrek.cli.app` holds the typer application; each command group is a module beside it
(``registry``, ``tag``, ``freeze``, ``render``, ``submit``, ``lineage``, ``dataset``,
``review``), imported here in the order ``shrek --help`` lists them.
"""

from __future__ import annotations

import sys
from contextlib import suppress

import typer

# The command groups register themselves on import, in the order 'shrek --help' lists them.
# isort: off
from shrek.cli import registry, tag, freeze, render, submit, lineage, dataset, review  # noqa: F401

# isort: on
from shrek.cli.app import app
from shrek.errors import ExitCode, ShrekError
from shrek.interrupts import fault_point

__all__ = ["app", "main", "run"]


# -- entry point ------------------------------------------------------------------------------


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors become messages, never tracebacks."""
    try:
        fault_point("command")
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
    except ShrekError as error:  # a server's or git's words may quote a credential
        from shrek.redact import redact

        typer.echo(redact(str(error)), err=True)
        return int(error.code)
    except BrokenPipeError:  # the reader went away (shrek log | head): end quietly
        return closed_pipe()
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
    except Exception as error:  # a bug: one line, and the crash log a report can carry
        from shrek.crash import write_crash_log

        where = write_crash_log(error, argv if argv is not None else sys.argv[1:])
        typer.echo(
            f"shrek: unexpected error ({type(error).__name__}): this is a bug in SHREK\n"
            f"    fix: please report it with the crash log {where}",
            err=True,
        )
        return int(ExitCode.CRASH)
    return 0


def closed_pipe() -> int:
    """Whatever is left for standard output goes nowhere (not into a traceback at exit)."""
    import os

    with suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return int(ExitCode.CLOSED_PIPE)


def usage_error(error: typer.TyperException) -> str:
    """A wrong command line in SHREK's words: what is wrong, and where the usage is."""
    context = getattr(error, "ctx", None)
    command = context.command_path if context is not None else "shrek"
    message = " ".join(error.format_message().split())
    return f"shrek: {message}\n    fix: see '{command} --help'"


def main() -> None:
    sys.exit(run())
