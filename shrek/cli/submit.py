"""``shrek submit``, ``status``, ``log``, ``kill``, ``retry``: running a production."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from shrek.cli.app import app, complete_tags, complete_targets, open_registry
from shrek.cli.output import AS_JSON, QUIET, WROTE_JSON, print_json, show_lines
from shrek.cli.submitted import here
from shrek.cli.text import rows_text

if TYPE_CHECKING:
    from shrek.ops.session import Registry


@app.command()
def submit(
    ctx: typer.Context,
    target: str = typer.Argument(
        ...,
        help="TAG (every step not yet done, in dependency order) or TAG/STEP.",
        autocompletion=complete_targets,
    ),
    backend: str | None = typer.Option(
        None, "--backend", "-b", help="local or panda (default: the registry's backend)."
    ),
    test: bool = typer.Option(
        False,
        "--test",
        help="Skip the git and freeze guards (never "
        "validation); recorded, datasets in the test namespace.",
    ),
    again: bool = typer.Option(
        False,
        "--again",
        help="Submit once more although the step is active, partial or done (with TAG: every "
        "step, not only those not yet done).",
    ),
    jobs: int | None = typer.Option(
        None,
        "--jobs",
        "-j",
        min=1,
        help="Local backend: jobs at once (default: the number of cores).",
    ),
    detach: bool = typer.Option(
        False, "--detach", "-d", help="Return once submitted; follow with 'shrek status'."
    ),
    via: str | None = typer.Option(
        None,
        "--via",
        help="PanDA: pchain (default; a workflow of one or more steps) or prun (one step).",
    ),
    no_check: bool = typer.Option(
        False, "--no-check", help="PanDA: do not ask the server to check the workflow first."
    ),
    panda: list[str] = typer.Option(
        None,
        "--panda",
        help="PanDA setting for this submission, "
        "KEY=VALUE (e.g. site=BNL_OSG_SPHENIX); repeatable.",
    ),
    first_sequence: int | None = typer.Option(
        None,
        "--first-sequence",
        min=1,
        help="Every step's first sequence (RNG) number, instead of the next free one; refused "
        "when it reuses a number an earlier submission of the step was given.",
    ),
    accept_tainted: bool = typer.Option(
        False,
        "--accept-tainted",
        help="Read inputs derived from an invalidated submission anyway; recorded.",
    ),
    reread: bool = typer.Option(
        False,
        "--reread",
        help="Read a primary input an earlier submission of the step read already (implies "
        "--again); recorded.",
    ),
    quiet: bool = QUIET,
    as_json: bool = WROTE_JSON,
) -> None:
    """Submit a frozen tag (or one step) to a backend and commit the submission records."""
    from shrek.cli.submitted import submit_and_report, submit_request

    request = submit_request(
        target,
        backend=backend,
        test=test,
        again=again,
        jobs=jobs,
        detach=detach,
        via=via,
        no_check=no_check,
        panda=panda,
        first_sequence=first_sequence,
        accept_tainted=accept_tainted,
        reread=reread,
    )
    code = submit_and_report(open_registry(ctx), request, quiet=quiet, as_json=as_json)
    if code:
        raise typer.Exit(code)


@app.command()
def status(
    ctx: typer.Context,
    tags: list[str] = typer.Argument(
        None, help="Tags (default: every tag with submissions).", autocompletion=complete_tags
    ),
    no_commit: bool = typer.Option(
        False, "--no-commit", help="Only look: commit nothing, take no lock (read-only checkouts)."
    ),
    failed: bool = typer.Option(False, "--failed", help="List every failed job, one per line."),
    as_json: bool = AS_JSON,
) -> None:
    """Refresh submission states from the backends, show them, commit what changed."""
    from shrek.ops.status import failed_jobs, status_rows

    registry = open_registry(ctx)
    names = [registry.resolve(t) for t in tags] if tags else registry.tag_names()
    rows = status_rows(registry, names, commit=not no_commit)
    if failed:
        jobs = failed_jobs(registry, names)
        show_lines(
            jobs,
            as_json=as_json,
            empty="no failed jobs",
            line=lambda j: (
                f"{j['tag']}/{j['step']} #{j['number']:04d} job {j['seq']}: {j['reason']} "
                f"(attempts {j['attempts']})"
                + (f"  log: {here(registry, j['log'])}" if j["log"] else "")
            ),
            json_rows=lambda j: j,
        )
        return
    typer.echo(
        rows_text(
            rows,
            as_json=as_json,
            empty="no submissions yet",
            columns=("tag", "step", "#", "state", "done/run/fail/pend", "sequences", "outputs"),
            cells=_status_cells,
        )
    )
    if not as_json:
        from shrek.ops.remote import describe

        print_failures(registry, rows)
        typer.echo(f"registry: {describe(registry)}", err=True)
        for tag, newer in dict.fromkeys((r["tag"], r["superseded_by"]) for r in rows):
            if newer:
                typer.echo(f"{tag} is superseded by {newer}: it takes no production submission")


def print_failures(registry: Registry, rows: list[dict]) -> None:
    """Failed jobs grouped by reason, one log per group, as paths from the current directory;
    then what is tainted (read outputs derived from an invalidated submission), and why."""
    for row in rows:
        if row.get("tainted"):
            typer.echo(
                f"{row['tag']}/{row['step']} #{row['number']:04d}: TAINTED: {row['tainted']}"
            )
    for row in rows:
        for group in row["failures"]:
            typer.echo(
                f"{row['tag']}/{row['step']} #{row['number']:04d}: {group['count']} job(s) "
                f"failed: {group['reason']}",
                err=True,
            )
            if group.get("log"):
                typer.echo(f"    log: {here(registry, group['log'])}", err=True)


def _status_cells(row: dict) -> list[str]:
    jobs = row["jobs"]
    used = row["sequences"]
    outputs = ", ".join(
        f"{o['dataset']} ({o['files']} files, {_size(o['bytes'])})"
        if o["files"] is not None
        else o["dataset"]
        for o in row["outputs"].values()
    )
    return [
        row["tag"],
        row["step"],
        f"{row['number']:04d}",
        row["state"]
        + (" [TEST]" if row["test"] else "")
        + (" INVALID" if row["invalid"] else "")
        + (" TAINTED" if row["tainted"] else ""),
        "/".join(str(jobs.get(k, 0)) for k in ("done", "running", "failed", "pending")),
        f"{used['first']}-{used['last']}" if used else "",
        outputs,
    ]


def _size(count: int | None) -> str:
    value = float(count or 0)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


@app.command()
def log(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The tag.", autocompletion=complete_tags),
    as_json: bool = AS_JSON,
) -> None:
    """Show a tag's history from git: created, frozen, each submission and state change."""
    from shrek.ops.log import tag_history

    registry = open_registry(ctx)
    show_lines(
        tag_history(registry, registry.resolve(name)),
        as_json=as_json,
        empty="no history yet",
        line=lambda e: f"{e.date}  {e.commit[:10]}  {e.kind:<13} {e.subject}",
        json_rows=lambda e: {
            "commit": e.commit,
            "date": e.date,
            "author": e.author,
            "kind": e.kind,
            "subject": e.subject,
        },
    )


@app.command()
def kill(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="TAG or TAG/STEP.", autocompletion=complete_targets),
    as_json: bool = WROTE_JSON,
) -> None:
    """Kill the active submissions of a tag (or one step); recorded and committed."""
    from shrek.ops.control import kill as run_kill

    done = run_kill(open_registry(ctx), target)
    if as_json:
        print_json(vars(done))
        return
    for line in done.lines():
        typer.echo(line)


@app.command()
def retry(
    ctx: typer.Context,
    target: str = typer.Argument(
        ...,
        help="TAG/STEP: retry the failed jobs of its latest submission.",
        autocompletion=complete_targets,
    ),
    memory: int | None = typer.Option(
        None, "--memory", min=1, help="PanDA: retry with this much memory per job (MB); recorded."
    ),
    as_json: bool = WROTE_JSON,
) -> None:
    """Retry the failed jobs of a step's latest partial, failed or killed submission."""
    from shrek.ops.control import retry as run_retry

    overrides = {"memory_mb": memory} if memory else {}
    registry = open_registry(ctx)
    done = run_retry(registry, target, overrides)
    if as_json:
        print_json(vars(done))
        return
    for line in done.lines():
        typer.echo(
            f"{line}; follow it with 'shrek status {registry.resolve(target.split('/')[0])}'"
        )


@app.command()
def probe(
    ctx: typer.Context,
    target: str = typer.Argument(
        ..., help="TAG/STEP: the step to measure.", autocompletion=complete_targets
    ),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="How many of its jobs to run."),
    apply: bool = typer.Option(
        False, "--apply", help="Write the suggested requirements into the step file (uncommitted)."
    ),
    as_json: bool = AS_JSON,
    quiet: bool = QUIET,
) -> None:
    """Run a step's first jobs here as a recorded test and judge its requirements by them."""
    from shrek.cli.watch import follow
    from shrek.ops.probe import probe as run_probe

    registry = open_registry(ctx)
    result = run_probe(
        registry,
        target,
        jobs=jobs,
        apply=apply,
        wait=lambda watch: follow(watch, quiet=quiet or as_json),
    )
    if as_json:
        print_json(result.as_dict())
        return
    typer.echo(f"probed {result.tag}/{result.step}: {len(result.jobs)} job(s) ({result.record})")
    if result.failed:
        judged = sum(1 for m in result.jobs if m.exit == 0)
        typer.echo(
            f"judged by the {judged} job(s) that succeeded; failed, not judged: "
            + "; ".join(result.failed)
        )
    typer.echo(
        rows_text(
            [vars(m) for m in result.jobs],
            as_json=False,
            empty="no job ran",
            columns=("job", "exit", "wall s", "cpu s", "peak MB", "outputs"),
            cells=lambda m: [
                str(m["seq"]),
                str(m["exit"]),
                f"{m['wall_s']:.1f}",
                f"{m['cpu_s']:.1f}",
                f"{m['peak_rss_mb']:.0f}",
                _size(m["output_bytes"]),
            ],
        )
    )
    typer.echo(
        rows_text(
            [vars(v) for v in result.verdicts],
            as_json=False,
            empty="",
            columns=("requirement", "requested", "measured", "verdict", "suggested"),
            cells=lambda v: [
                v["requirement"],
                "-" if v["requested"] is None else f"{v['requested']:g}",
                "-" if v["measured"] is None else f"{v['measured']:.3g}",
                v["verdict"] + (f" ({v['why']})" if v["why"] else ""),
                "" if v["suggested"] is None else str(v["suggested"]),
            ],
        )
    )
    if result.applied:
        typer.echo(
            f"wrote into the step file (uncommitted, for review): {', '.join(result.applied)}"
        )
