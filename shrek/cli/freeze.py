"""``shrek freeze`` and ``shrek verify``."""

from __future__ import annotations

import typer

from shrek.cli.app import app, complete_tags, open_registry
from shrek.cli.output import AS_JSON, QUIET, WROTE_JSON, print_json
from shrek.errors import ExitCode


@app.command()
def freeze(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., help="The tag to freeze (label or full name).", autocompletion=complete_tags
    ),
    quiet: bool = QUIET,
    allow_open: bool = typer.Option(
        False,
        "--allow-open",
        help="Freeze an input Rucio dataset that is still open (its content may still grow).",
    ),
    as_json: bool = WROTE_JSON,
) -> None:
    """Pin the tag's code commits, build, files and input datasets in freeze.yaml; commit."""
    from shrek.cli.progress import bars
    from shrek.ops.freeze import freeze as run_freeze

    result = run_freeze(
        open_registry(ctx), name, progress=bars(quiet or as_json), allow_open=allow_open
    )
    if as_json:
        print_json(vars(result))
    elif result.changed:
        commit = (result.commit or "")[:12]
        typer.echo(f"froze {result.tag}: digest {result.digest} (commit {commit})")
    else:
        typer.echo(
            f"{result.tag} is already frozen with identical content: digest "
            f"{result.digest}; nothing changed"
        )


# Complex by design: prints each of verify's outcomes, one branch each.
@app.command()
def verify(  # noqa: C901
    ctx: typer.Context,
    tags: list[str] = typer.Argument(
        None, help="Tags to verify (default: all frozen tags).", autocompletion=complete_tags
    ),
    as_json: bool = AS_JSON,
    skip_datasets: bool = typer.Option(
        False,
        "--skip-datasets",
        help="Check input lists against the freeze only, not the catalogue (CI).",
    ),
    outputs: bool = typer.Option(
        False,
        "--outputs",
        help="Instead: read back every catalogued output file of the tags' submissions and "
        "name each one missing or changed (size, adler32).",
    ),
    quiet: bool = QUIET,
) -> None:
    """Recompute every frozen tag's dependencies and name each drift since its freeze; check
    the ledgers and records against git history; with --outputs, read the outputs back."""
    from shrek.cli.progress import bars
    from shrek.ops.freeze import verify as run_verify

    if outputs:
        _verify_outputs(ctx, tags or [], as_json)
        return

    results = run_verify(
        open_registry(ctx), tags or [], progress=bars(quiet), skip_datasets=skip_datasets
    )
    failed = [r for r in results if not r.ok]
    if as_json:
        print_json(
            [
                {
                    "tag": r.tag,
                    "frozen": r.digest is not None,
                    "digest": r.digest,
                    "ok": r.ok,
                    "drifts": [{"subject": d.subject, "message": d.message} for d in r.drifts],
                    "history": [f.as_dict() for f in r.history],
                }
                for r in results
            ]
        )
    else:
        for result in results:
            if result.history:
                typer.echo(
                    f"{result.tag}: {len(result.history)} append-only record(s) or ledger "
                    "line(s) changed after they were committed",
                    err=True,
                )
                for finding in result.history:
                    typer.echo(f"  {finding}", err=True)
            if result.digest is None and result.history and not tags:
                continue  # not frozen: only its history is verified
            if result.digest is None:
                typer.echo(
                    f"{result.tag}: not frozen (freeze it with 'shrek freeze {result.tag}')",
                    err=True,
                )
            elif result.drifts:
                typer.echo(f"{result.tag}: DRIFTED from its freeze ({result.digest})", err=True)
                for drift in result.drifts:
                    typer.echo(f"  {drift}", err=True)
            elif result.history:
                typer.echo(f"{result.tag}: its content is as frozen ({result.digest})", err=True)
            else:
                typer.echo(f"{result.tag}: ok, as frozen ({result.digest})")
        if not results:
            typer.echo("no frozen tags to verify")
    if failed:
        drifted = any(r.digest and r.drifts for r in failed)
        raise typer.Exit(ExitCode.DRIFT if drifted else ExitCode.INVALID)


def _verify_outputs(ctx: typer.Context, tags: list[str], as_json: bool) -> None:
    from shrek.ops.outputs import verify_outputs

    results = verify_outputs(open_registry(ctx), tags)
    if as_json:
        print_json(
            [
                {
                    "tag": r.tag,
                    "ok": r.ok,
                    "datasets": [
                        {
                            "dataset": d.dataset,
                            "files": d.files,
                            "bytes": d.bytes,
                            "unchecked": d.unchecked,
                            "problems": [
                                {"file": p.file, "message": p.message} for p in d.problems
                            ],
                        }
                        for d in r.datasets
                    ],
                }
                for r in results
            ]
        )
    else:
        for result in results:
            files = sum(d.files for d in result.datasets)
            unchecked = sum(d.unchecked for d in result.datasets)
            elsewhere = f", {unchecked} with no replica here (not read)" if unchecked else ""
            counts = f"{len(result.datasets)} output dataset(s), {files} file(s){elsewhere}"
            if result.ok:
                typer.echo(f"{result.tag}: ok, {counts} as catalogued")
                continue
            typer.echo(
                f"{result.tag}: {len(result.problems)} output file(s) not as catalogued ({counts})",
                err=True,
            )
            for problem in result.problems:
                typer.echo(f"  {problem}", err=True)
    if any(not r.ok for r in results):
        raise typer.Exit(ExitCode.DRIFT)
