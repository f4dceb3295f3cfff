"""``shrek provenance``, ``reproduce``, ``extend``, ``invalidate``, ``supersede``: where a
production's outputs come from, and what happens to a production after it ran."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shrek.cli.app import app, complete_tags, complete_targets, open_registry
from shrek.cli.output import AS_JSON, WROTE_JSON, print_json
from shrek.errors import ExitCode

if TYPE_CHECKING:
    from shrek.ops.provenance import Node


@app.command()
def provenance(
    ctx: typer.Context,
    what: str = typer.Argument(
        ...,
        help="An output file (path or name), a job's shrek-provenance.json, or a dataset name "
        "(local, PanDA or Rucio spelling).",
    ),
    tree: bool = typer.Option(
        False, "--tree", help="Follow the inputs back through upstream steps to external data."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """What made a file or dataset: tag, step, submission, commit, code, build, inputs."""
    from shrek.ops.provenance import provenance as find

    node = find(open_registry(ctx), what, tree=tree)
    if as_json:
        print_json(node.as_dict())
        return
    typer.echo("\n".join(_node_lines(node, "", set())))


def _node_lines(node: Node, indent: str, above: set[tuple[str, str]]) -> list[str]:
    """One node as aligned lines; its inputs (under --tree) indented beneath it, without the
    lines they share with the node above them (the same commit, freeze, code, build)."""
    if node.kind == "external":
        return [f"{indent}{node.name}  (external dataset {node.dataset})"]
    lines = [
        f"{indent}{node.name}" + (f"  (in {node.dataset})" if node.name != node.dataset else "")
    ]
    pad = indent + "  "
    origin = node.origin
    if origin is not None:
        rows: list[tuple[str, str]] = [
            ("tag", f"{origin.tag}   step {origin.step}"),
            (
                "submission",
                f"{origin.submission}  ({origin.state}{', test' if origin.test else ''})",
            ),
            ("record", f"{origin.record} @ {origin.record_commit[:12]}"),
            ("registry", f"{origin.registry_commit} (the submission's journal)"),
            ("freeze", str(origin.freeze_digest or "(not frozen)")),
        ]
        if node.job is not None:
            rows.append(("sequence", str(node.job.get("sequence"))))
        else:
            rows.append(("sequences", f"{origin.sequences['first']}-{origin.sequences['last']}"))
        rows += [
            ("code", f"{c['name']} {c['url']} @ {c['ref']} = {c['commit'] or '(not frozen)'}")
            for c in origin.code
        ]
        rows.append(("build", f"{origin.build.get('name')}  (setup: {origin.build.get('setup')})"))
        if origin.parameters:
            rows.append(
                ("parameters", ", ".join(f"{k}={v!r}" for k, v in origin.parameters.items()))
            )
        if origin.extends:
            rows.append(("extends", origin.extends))
        if origin.invalid:
            rows.append(("INVALID", origin.invalid))
        if origin.superseded_by:
            rows.append(("superseded", f"by {origin.superseded_by}"))
        if node.job is None:
            rows += [("input", f"{k}: {v}") for k, v in origin.inputs.items()]
    else:
        rows = [("record", "(no submission record names it)")]
    if node.job is not None:
        job = node.job
        rows.append(
            (
                "job",
                f"{job.get('job')} on {job.get('host')}, {job.get('start')} - {job.get('end')}, "
                f"exit {job.get('exit_status')}",
            )
        )
        rows += [
            ("input", f"{i['input']}: {i['name']} ({i['size']} bytes, {i['checksum']})")
            for i in job.get("inputs", [])
        ]
        rows.append(("provenance", os.path.relpath(node.provenance_file)))
    shared = {"registry", "freeze", "code", "build"}
    lines += [f"{pad}{key:<11} {value}" for key, value in rows if (key, value) not in above]
    inherited = {(key, value) for key, value in rows if key in shared}
    for child in node.inputs:
        below = _node_lines(child, pad + "   ", inherited)
        lines += [pad + "<- " + below[0].removeprefix(pad + "   "), *below[1:]]
    return lines


@app.command()
def reproduce(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="TAG/STEP.", autocompletion=complete_targets),
    job: int = typer.Option(
        ..., "--job", min=0, help="The job's sequence number, as 'status' and the record show it."
    ),
    keep: Path | None = typer.Option(
        None, "--keep", file_okay=False, help="Run in this (new or empty) directory and keep it."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Run one job again here, exactly as submitted, and compare its outputs."""
    from shrek.ops.reproduce import reproduce as run

    result = run(open_registry(ctx), target, job, keep)
    if as_json:
        print_json({**dataclasses.asdict(result), "identical": result.identical})
    else:
        original = (
            "" if result.original_exit is None else f" (the original: {result.original_exit})"
        )
        typer.echo(
            f"reproduced job {result.sequence} of {result.submission} from registry commit "
            f"{result.registry_commit[:12]}: exit {result.exit_status}{original}"
        )
        for output in result.outputs:
            typer.echo(
                f"  {output.output}: {output.verdict}"
                + (f" ({output.detail})" if output.detail else "")
                + (f"  [{output.file}]" if output.file else "")
            )
        if result.exit_status != 0:
            for line in result.stderr_tail:
                typer.echo(f"  | {line}", err=True)
        typer.echo(
            f"  ran in {result.directory}" if result.kept else "  (add --keep DIR to keep the run)"
        )
        if result.identical:
            typer.echo("identical")
    if not result.identical:
        raise typer.Exit(ExitCode.NOT_REPRODUCED)


@app.command()
def extend(
    ctx: typer.Context,
    target: str = typer.Argument(
        ..., help="TAG/STEP (a generator step).", autocompletion=complete_targets
    ),
    jobs: int = typer.Option(
        ...,
        "--jobs",
        min=1,
        max=1_000_000,
        help="How many more jobs (as a step's jobs: 1 to 10^6).",
    ),
    backend: str | None = typer.Option(None, "--backend", "-b", help="local or panda."),
    test: bool = typer.Option(False, "--test", help="Extend the step's newest test submission."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Return once submitted."),
    as_json: bool = WROTE_JSON,
) -> None:
    """Submit more jobs of a done generator step, continuing its sequence numbers."""
    from shrek.cli.submitted import report_submission
    from shrek.cli.watch import follow
    from shrek.ops.lifecycle import extend as run

    result = run(
        open_registry(ctx),
        target,
        jobs,
        wait=lambda watch: follow(watch, quiet=as_json),
        backend=backend,
        test=test,
        detach=detach,
    )
    if report_submission(result, as_json=as_json):
        raise typer.Exit(ExitCode.BACKEND)


@app.command()
def invalidate(
    ctx: typer.Context,
    target: str = typer.Argument(
        ..., help="TAG, TAG/STEP or TAG/STEP/NNNN.", autocompletion=complete_targets
    ),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the registry for good)."),
    as_json: bool = WROTE_JSON,
) -> None:
    """Mark submissions and their output datasets invalid: never read again."""
    from shrek.ops.lifecycle import invalidate as run

    done = run(open_registry(ctx), target, reason)
    if as_json:
        print_json(vars(done))
        return
    typer.echo(f"invalidated {', '.join(done.submissions)} (commit {done.commit[:12]})")
    for dataset in done.datasets:
        typer.echo(f"  dataset {dataset}: invalid")
    for warning in done.warnings:
        typer.echo(f"shrek: {warning}", err=True)
    for ident in done.running:
        typer.echo(f"shrek: {ident} is still running: stop it with shrek kill", err=True)


@app.command()
def void(
    ctx: typer.Context,
    target: str = typer.Argument(
        ...,
        help="TAG (its label was issued twice) or TAG/STEP/NNNN.",
        autocompletion=complete_targets,
    ),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the registry for good)."),
    as_json: bool = WROTE_JSON,
) -> None:
    """Repair a double 'shrek verify' names: void the later allocation, invalidate its outputs."""
    from shrek.ops.lifecycle import void as run

    done = run(open_registry(ctx), target, reason)
    if as_json:
        print_json(vars(done))
        return
    what = ", ".join(done.submissions) or done.tag
    typer.echo(f"voided {what} (commit {done.commit[:12]}); production goes on")
    for dataset in done.datasets:
        typer.echo(f"  dataset {dataset}: invalid")
    for warning in done.warnings:
        typer.echo(f"shrek: {warning}", err=True)


@app.command()
def supersede(
    ctx: typer.Context,
    old: str = typer.Argument(..., help="The tag replaced.", autocompletion=complete_tags),
    by: str = typer.Option(
        ..., "--by", help="The tag that replaces it.", autocompletion=complete_tags
    ),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the registry for good)."),
    as_json: bool = WROTE_JSON,
) -> None:
    """Record that a corrected tag replaces another: no more production submissions of it."""
    from shrek.ops.lifecycle import supersede as run

    done = run(open_registry(ctx), old, by, reason)
    if as_json:
        print_json(vars(done))
        return
    typer.echo(f"{done.old} is superseded by {done.new} (commit {done.commit[:12]})")
