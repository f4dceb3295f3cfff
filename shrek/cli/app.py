"""The typer application, its command groups, and what every command shares: the registry it
works on and shell completion.

A command function takes one parameter per option of the command (that is how typer declares
them), so some take more than six; each parses, calls one use case in :mod:`shrek.ops`, and
prints. Modules below the command line import lazily inside the commands, so that ``shrek
--version`` or a command's ``--help`` loads none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shrek import __version__

if TYPE_CHECKING:
    from shrek.ops.session import Registry

# Help is plain text, formatted by click: typer's rich help imports rich and markdown-it for
# every --help (a quarter of a second), and SHREK's output is plain text everywhere else too.
PLAIN = None

app = typer.Typer(
    name="shrek",
    rich_markup_mode=PLAIN,
    help="SHREK: the sPHENIX production tag registry and submitter.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
tag_app = typer.Typer(
    help="Create and inspect production tags.", no_args_is_help=True, rich_markup_mode=PLAIN
)
app.add_typer(tag_app, name="tag")
dataset_app = typer.Typer(
    help="Register and inspect datasets of the catalogue.",
    no_args_is_help=True,
    rich_markup_mode=PLAIN,
)
app.add_typer(dataset_app, name="dataset")
schema_app = typer.Typer(
    help="The JSON Schemas of SHREK's files and --json outputs.",
    no_args_is_help=True,
    rich_markup_mode=PLAIN,
)
app.add_typer(schema_app, name="schema")


def complete_tags(ctx: typer.Context, incomplete: str) -> list[str]:
    """Tag labels and full names for shell completion (nothing outside a registry)."""
    from shrek.ops.completion import tags

    return tags(_completion_root(ctx), incomplete)


def complete_targets(ctx: typer.Context, incomplete: str) -> list[str]:
    """TAG and TAG/STEP for shell completion."""
    from shrek.ops.completion import targets

    return targets(_completion_root(ctx), incomplete)


def complete_builds(ctx: typer.Context, incomplete: str) -> list[str]:
    from shrek.ops.completion import builds

    return builds(_completion_root(ctx), incomplete)


def complete_templates(incomplete: str) -> list[str]:
    from shrek.ops.completion import templates

    return templates(incomplete)


def complete_datasets(ctx: typer.Context, incomplete: str) -> list[str]:
    from shrek.ops.completion import datasets

    return datasets(_completion_root(ctx), incomplete)


def _completion_root(ctx: typer.Context) -> Path | None:
    root = ctx.find_root()
    return root.params.get("registry") if root and root.params else None


@dataclass
class Options:
    registry: Path | None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shrek {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    registry: Path | None = typer.Option(
        None,
        "--registry",
        "-R",
        envvar="SHREK_REGISTRY",
        file_okay=False,
        help="The registry to use (default: found from the current directory upwards).",
    ),
    version: bool = typer.Option(  # noqa: ARG001 (typer acts on it through the callback)
        False, "--version", callback=_version, is_eager=True, help="Print SHREK's version and exit."
    ),
) -> None:
    ctx.obj = Options(registry)


def open_registry(ctx: typer.Context) -> Registry:
    """The registry the command works on; its messages (waiting for the lock) go to stderr."""
    from shrek.ops.session import open_registry as open_it

    options: Options = ctx.obj
    return open_it(options.registry, lambda message: typer.echo(message, err=True))
