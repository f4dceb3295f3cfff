"""``shrek init``, ``shrek validate``, ``shrek schema export``: the registry itself."""

from __future__ import annotations

from pathlib import Path

import typer

from shrek.cli.app import app, complete_tags, open_registry, schema_app
from shrek.cli.output import json_option, print_json


@app.command()
def init(
    directory: Path = typer.Argument(Path("."), help="Where to create the registry."),
    shrek_install: str | None = typer.Option(
        None,
        "--shrek-install",
        metavar="REQUIREMENT",
        help="What the registry's CI installs (a pip requirement); default: exactly this SHREK, "
        "as its installed metadata says (an index version, or a git URL at its commit).",
    ),
) -> None:
    """Create a registry: git repository, shrek.yaml, tags/, label ledger; commit it."""
    from shrek.ops.distribution import install_source, requested
    from shrek.ops.init import init_registry

    install = requested(shrek_install) if shrek_install is not None else install_source()
    root = init_registry(directory, install)
    typer.echo(f"created SHREK registry in {root}")
    if install.requirement:
        typer.echo(f"its CI installs {install.requirement} (shrek_install in shrek.yaml)")
    else:
        typer.echo(
            f"shrek: note: its CI cannot install this SHREK: {install.why_not}; set "
            "shrek_install in shrek.yaml (or run init with --shrek-install) before the first "
            "pull request, which is refused until then",
            err=True,
        )
    typer.echo(
        "next: shrek tag new --build local --template demo (a two-step production that runs "
        "on this machine), or --build mdc2.7 --template hfprod (the MDC2 heavy-flavour "
        "example, for PanDA)"
    )


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Ready an existing registry for a team: ledgers merge line by line, labels claimed."""
    from shrek.ops.init import upgrade_registry

    for line in upgrade_registry(open_registry(ctx)):
        typer.echo(line)


@app.command()
def validate(
    ctx: typer.Context,
    tags: list[str] = typer.Argument(
        None, help="Tags to check (default: all).", autocompletion=complete_tags
    ),
    as_json: bool = json_option("Print the findings as JSON."),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Check every tag again, ignoring the cache in .shrek/."
    ),
) -> None:
    """Check tags against the schemas and for meaning; report every problem with its fix."""
    from shrek.cli.quick import validate_text
    from shrek.ops.validation import validate as run_validation

    report = run_validation(open_registry(ctx), tags or [], use_cache=not no_cache)
    out, err, code = validate_text(report, as_json=as_json)
    if err:
        typer.echo(err, err=True, nl=False)
    if out:
        typer.echo(out, nl=False)
    if code:
        raise typer.Exit(code)


@schema_app.command("export")
def schema_export(
    directory: Path = typer.Argument(..., file_okay=False, help="Where to write the schemas."),
) -> None:
    """Write every JSON Schema (file formats, --json outputs) for editors and other tools."""
    from shrek.ops.validation import export_schemas

    for path in export_schemas(directory):
        typer.echo(f"wrote {path}")


@app.command()
def site(
    ctx: typer.Context,
    out: Path = typer.Option(..., "-o", "--output", help="Directory to write the site into."),
    files: bool = typer.Option(
        False,
        "--files",
        help="List the files of the steps' outputs, and where they are, from the catalogue.",
    ),
    as_json: bool = json_option("Print what was written as JSON."),
) -> None:
    """Write the registry as a static website: every tag, dataset and submission, searchable."""
    from shrek.ops.site import build_site

    report = build_site(open_registry(ctx), out, files=files)
    summary = {
        "directory": str(report.directory),
        "pages": report.pages,
        "written": report.written,
        "removed": report.removed,
        "tags": report.tags,
        "datasets": report.datasets,
        "seconds": round(report.seconds, 3),
    }
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"site of {report.tags} tag(s) and {report.datasets} dataset(s) in {report.directory}: "
        f"{report.written} of {report.pages} file(s) written, {report.removed} removed "
        f"({report.seconds:.2f} s); open {report.directory / 'index.html'}"
    )
    if report.in_work_tree:
        typer.echo(
            f"note: {report.directory} is inside the registry's work tree, where git sees it "
            "and 'shrek submit' would find the tree dirty: build it outside (-o ../site), "
            "or list it in .gitignore",
            err=True,
        )
