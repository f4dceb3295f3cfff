"""``shrek render``: what a backend needs, written into a directory and checked."""

from __future__ import annotations

from pathlib import Path

import typer

from shrek.cli.app import app, complete_targets, open_registry
from shrek.errors import ExitCode


@app.command()
def render(
    ctx: typer.Context,
    target: str = typer.Argument(
        ..., help="TAG or TAG/STEP, e.g. sP22aa/hfprod-pass1.", autocompletion=complete_targets
    ),
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        file_okay=False,
        help="Directory to write into: new, empty, or one SHREK rendered into (replaced whole).",
    ),
    check: bool = typer.Option(
        False, "--check", help="Also run the offline checks that predict PanDA's verdict."
    ),
    first_sequence: int | None = typer.Option(
        None,
        "--first-sequence",
        min=1,
        help="First job's sequence number (default: after every range earlier submissions used).",
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace a non-empty directory SHREK did not render into, whole."
    ),
) -> None:
    """Write the wrapper scripts, PanDA CWL, inputs YAML, prun lines and manifest."""
    from shrek.ops.render import render_target

    if check:  # ShellCheck and cwltool take seconds: say what is happening meanwhile
        typer.echo(
            "shrek: rendering, then checking it offline (bash -n, ShellCheck, cwltool, PanDA's "
            "placeholders and options): this takes a few seconds",
            err=True,
        )
    result = render_target(
        open_registry(ctx),
        target,
        output,
        first_sequence=first_sequence,
        run_checks=check,
        force=force,
    )
    typer.echo(
        f"rendered {result.rendering.tag} ({', '.join(result.rendering.steps)}) into "
        f"{output}: {len(result.rendering.manifest())} file(s) in "
        f"{output / 'sandbox'}"
    )
    for outcome in result.checks:
        mark = "ok  " if outcome.ok else ("SKIP" if outcome.skipped else "FAIL")
        typer.echo(f"  {mark} {outcome.name}")
        for problem in outcome.problems:
            typer.echo(f"       {problem}", err=True)
        for note in outcome.notes:
            typer.echo(f"       note: {note}", err=True)
        if outcome.skipped:
            typer.echo(f"       {outcome.skipped}", err=True)
    if any(not c.ok for c in result.checks):
        typer.echo("shrek: the rendering fails its checks", err=True)
        raise typer.Exit(ExitCode.INVALID)
