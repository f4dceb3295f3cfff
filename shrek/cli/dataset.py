"""``shrek dataset add|list|show``: the catalogue's datasets."""

from __future__ import annotations

import sys

import typer

from shrek.cli.app import complete_datasets, dataset_app, open_registry
from shrek.cli.output import AS_JSON, QUIET, WROTE_JSON, print_json, show_lines


@dataset_app.command("add")
def dataset_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Dataset name, e.g. mdc2.pythia8_pp_mb.g4hits."),
    files: list[str] = typer.Argument(None, help="Existing files to register."),
    from_file: str | None = typer.Option(
        None,
        "--from-file",
        "-f",
        help="Read the files' paths from this file, one per line ('-': standard input); "
        "for more files than a command line holds.",
    ),
    quiet: bool = QUIET,
    as_json: bool = WROTE_JSON,
) -> None:
    """Register existing files (with size and adler32) as a dataset of the catalogue."""
    from shrek.cli.progress import bars
    from shrek.ops.dataset import read_path_list, register_files

    paths = list(files or [])
    if from_file is not None:
        paths += read_path_list(from_file, sys.stdin)
    info = register_files(open_registry(ctx), name, paths, progress=bars(quiet or as_json))
    if as_json:
        print_json(info._asdict())
        return
    typer.echo(f"dataset {info.name}: {info.files} file(s), {info.bytes} bytes")


@dataset_app.command("list")
def dataset_list(
    ctx: typer.Context,
    as_json: bool = AS_JSON,
) -> None:
    """List the catalogue's datasets (invalidated and tainted ones marked)."""
    from shrek.ops.dataset import listing

    show_lines(
        listing(open_registry(ctx)),
        as_json=as_json,
        empty="no datasets yet: register files with 'shrek dataset add NAME FILE...'",
        line=lambda i: (
            f"{i['name']}  {i['files']} file(s)  {i['bytes']} bytes"
            + (f"  created {i['created']}" if i["created"] else "")
            + (f"  INVALID: {i['invalid']}" if i["invalid"] else "")
            + (f"  TAINTED: {i['tainted']}" if i["tainted"] else "")
        ),
    )


@dataset_app.command("show")
def dataset_show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Dataset name.", autocompletion=complete_datasets),
    as_json: bool = AS_JSON,
) -> None:
    """Show a dataset's files (name, size, checksum, location) and the submission that made it."""
    from shrek.ops.dataset import described

    info = described(open_registry(ctx), name)
    if as_json:
        print_json(info)
        return
    files = info["files"]
    typer.echo(f"{name}: {len(files)} file(s), {sum(f['size'] for f in files)} bytes")
    origin = info["origin"]
    if origin:
        typer.echo(
            f"  made by {origin['submission']} ({origin['state']}): {origin['record']} @ "
            f"{origin['record_commit'][:12]}, registry commit {origin['registry_commit'][:12]}"
        )
    if info["invalid"]:
        typer.echo(f"  INVALID: {info['invalid']}")
    if info["tainted"]:
        typer.echo(f"  TAINTED: {info['tainted']}")
    for item in files:
        typer.echo(f"  {item['name']}  {item['size']}  {item['checksum']}  {item['location']}")
