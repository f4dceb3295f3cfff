"""The ``shrek`` command line: parse, call a module, print. No logic lives here."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from shrek import __version__
from shrek.errors import ExitCode, ShrekError

app = typer.Typer(
    name="shrek",
    help="SHREK: the sPHENIX production tag registry and submitter.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
tag_app = typer.Typer(help="Create and inspect production tags.", no_args_is_help=True)
app.add_typer(tag_app, name="tag")
dataset_app = typer.Typer(
    help="Register and inspect datasets of the catalogue.", no_args_is_help=True
)
app.add_typer(dataset_app, name="dataset")
schema_app = typer.Typer(
    help="The JSON Schemas of SHREK's files and --json outputs.", no_args_is_help=True
)
app.add_typer(schema_app, name="schema")


def _complete_tags(ctx: typer.Context, incomplete: str) -> list[str]:
    """Tag labels and full names for shell completion (nothing outside a registry)."""
    from shrek.cli.completion import tags

    return tags(_completion_root(ctx), incomplete)


def _complete_targets(ctx: typer.Context, incomplete: str) -> list[str]:
    """TAG and TAG/STEP for shell completion."""
    from shrek.cli.completion import targets

    return targets(_completion_root(ctx), incomplete)


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
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print SHREK's version and exit."
    ),
) -> None:
    ctx.obj = Options(registry)


def _registry(ctx: typer.Context):  # -> Registry, imported lazily to keep start-up light
    from shrek.core.registry import Registry

    options: Options = ctx.obj
    registry = Registry.open(options.registry) if options.registry else Registry.find()
    registry.notify = lambda message: typer.echo(message, err=True)
    return registry


def _settings_pairs(pairs: list[str] | None) -> dict[str, Any]:
    """``["site=X", "timeout_s=60"]`` -> settings (numbers and booleans parsed as YAML)."""
    import yaml

    settings: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ShrekError(
                f"--panda takes KEY=VALUE, not '{pair}'", "e.g. --panda site=BNL", ExitCode.USAGE
            )
        settings[key.strip()] = yaml.safe_load(value) if value else ""
    return settings


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


# -- init ---------------------------------------------------------------------------------


@app.command()
def init(
    directory: Path = typer.Argument(Path("."), help="Where to create the registry."),
) -> None:
    """Create a registry: git repository, shrek.yaml, tags/, label ledger; commit it."""
    from shrek.ops.init import init_registry

    root = init_registry(directory)
    typer.echo(f"created SHREK registry in {root}")
    typer.echo("next: shrek tag new --year 22 --build mdc2.7 --template hfprod")


# -- tags ----------------------------------------------------------------------------------


@tag_app.command("new")
def tag_new(
    ctx: typer.Context,
    label: str | None = typer.Argument(
        None, help="The label to claim, e.g. sP22aa; omit to allocate the next free one."
    ),
    build: str | None = typer.Option(
        None,
        "--build",
        "-b",
        help="Software build, e.g. mdc2.7 (default: the parent's with --from).",
    ),
    year: int | None = typer.Option(
        None, "--year", "-y", help="Two-digit year to allocate in (default: this year)."
    ),
    test: bool = typer.Option(
        False,
        "--test",
        help="Allocate in the test label space "
        "(sP22Ta, ...), which never collides with production.",
    ),
    parent: str | None = typer.Option(
        None, "--from", help="Copy this tag's steps and resources; record it as parent."
    ),
    template: str | None = typer.Option(
        None, "--template", "-t", help="Start from a template (hfprod: the two-step MDC2 example)."
    ),
    title: str | None = typer.Option(None, "--title", help="One-line title."),
    owner: str | None = typer.Option(None, "--owner", help="Owner (default: your git identity)."),
) -> None:
    """Create a tag directory tags/<label>-<build>/ and commit it."""
    from shrek.ops.tag import new_tag

    created = new_tag(
        _registry(ctx),
        label=label,
        build=build,
        year=year,
        test=test,
        parent=parent,
        template=template,
        title=title,
        owner=owner,
    )
    typer.echo(f"created tags/{created.name} (commit {created.commit[:12]})")
    typer.echo(
        f"next: edit tags/{created.name}/job/*.yaml, then shrek validate "
        f"{created.name.partition('-')[0]}"
    )


@tag_app.command("list")
def tag_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the registry's tags: label, build, steps, state."""
    from shrek.ops.tag import summary

    registry = _registry(ctx)
    rows = [summary(registry, name) for name in registry.tag_names()]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo("no tags yet: create one with 'shrek tag new'")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("label", "build", "steps", "state", "title"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["label"], row["build"], str(row["steps"]), row["state"], row["title"])
    Console(width=max(100, Console().width)).print(table)


@tag_app.command("show")
def tag_show(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., help="Label (sP22aa) or full tag name (sP22aa-mdc2.7).", autocompletion=_complete_tags
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show everything about one tag."""
    from shrek.ops.tag import details

    registry = _registry(ctx)
    info = details(registry, registry.resolve(name))
    if as_json:
        _print_json(info)
        return
    typer.echo(_format_details(info))


def _format_details(info: dict[str, Any]) -> str:
    lines = [f"{info['name']}  [{info['state']}]", f"  title:       {info['title']}"]
    if info.get("owner") is not None:
        lines.append(f"  owner:       {info['owner']}")
    lines.append(
        f"  build:       {info['build']}"
        + (f"  (setup: {info['setup']})" if info.get("setup") else "")
    )
    if info.get("parent"):
        lines.append(f"  parent:      {info['parent']}")
    if info.get("allocated"):
        lines.append(f"  allocated:   {info['allocated']['at']} by {info['allocated']['by']}")
    lines.append(f"  directory:   {info['directory']}")
    lines.append(
        "  valid:       "
        + (
            "yes"
            if info["valid"]
            else f"no, {info['problems']} problem(s): run 'shrek validate {info['label']}'"
        )
    )
    frozen = info.get("freeze")
    if frozen:
        lines.append(f"  frozen:      {frozen['digest']}")
        lines.append(
            f"               by {frozen['by']} at {frozen['at']} from commit "
            f"{frozen['registry_commit'][:12]}"
        )
    if info.get("description"):
        lines.append(f"  description: {' '.join(str(info['description']).split())}")
    for repo in info.get("code") or []:
        pinned = (frozen or {}).get("code", {}).get(repo["name"])
        lines.append(
            f"  code:        {repo['name']}  {repo['url']}  @ {repo['ref']}"
            + (f" = {pinned}" if pinned else "")
        )
    for dataset, size in ((frozen or {}).get("inputs") or {}).items():
        lines.append(f"  input:       {dataset}  {size['files']} file(s), {size['bytes']} bytes")
    steps = info.get("step_details", [])
    lines.append(f"  steps ({len(steps)}):")
    for step in steps:
        source = (
            f"{step['jobs']} job(s)"
            if step["jobs"]
            else ", ".join(
                f"reads {i['dataset']} ({i['files_per_job']}/job"
                + (", secondary)" if i["secondary"] else ")")
                for i in step["inputs"]
            )
        )
        lines.append(f"    {step['name']}: {source}; writes {', '.join(step['outputs'])}")
        if step["parameters"]:
            params = ", ".join(f"{k}={v!r}" for k, v in step["parameters"].items())
            lines.append(f"      parameters:   {params}")
        if step["requirements"]:
            reqs = ", ".join(f"{k}={v}" for k, v in step["requirements"].items())
            lines.append(f"      requirements: {reqs}")
    return "\n".join(lines)


# -- validate -------------------------------------------------------------------------------


@app.command()
def validate(
    ctx: typer.Context,
    tags: list[str] = typer.Argument(
        None, help="Tags to check (default: all).", autocompletion=_complete_tags
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """Check tags against the schemas and for meaning; report every problem with its fix."""
    from shrek.core.validate import validate as run_validation

    report = run_validation(_registry(ctx), tags or [])
    if as_json:
        _print_json(report.as_dict())
    else:
        for finding in report.findings:
            typer.echo(str(finding), err=True)
        count = len(report.checked)
        if report.ok:
            typer.echo(
                f"ok: {count} tag(s) valid"
                + (f" ({', '.join(report.checked)})" if 0 < count <= 5 else "")
            )
        else:
            typer.echo(
                f"shrek: {len(report.findings)} error(s) found (checked {count} tag(s))", err=True
            )
    if not report.ok:
        raise typer.Exit(ExitCode.INVALID)


# -- freeze and verify ------------------------------------------------------------------------

QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")


@app.command()
def freeze(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., help="The tag to freeze (label or full name).", autocompletion=_complete_tags
    ),
    quiet: bool = QUIET,
    allow_open: bool = typer.Option(
        False,
        "--allow-open",
        help="Freeze an input Rucio dataset that is still open (its content may still grow).",
    ),
) -> None:
    """Pin the tag's code commits, build, files and input datasets in freeze.yaml; commit."""
    from shrek.cli.progress import bars
    from shrek.ops.freeze import freeze as run_freeze

    result = run_freeze(_registry(ctx), name, progress=bars(quiet), allow_open=allow_open)
    if result.changed:
        typer.echo(f"froze {result.tag}: digest {result.digest} (commit {result.commit[:12]})")
    else:
        typer.echo(
            f"{result.tag} is already frozen with identical content: digest "
            f"{result.digest}; nothing changed"
        )


@app.command()
def verify(
    ctx: typer.Context,
    tags: list[str] = typer.Argument(
        None, help="Tags to verify (default: all frozen tags).", autocompletion=_complete_tags
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    skip_datasets: bool = typer.Option(
        False,
        "--skip-datasets",
        help="Check input lists against the freeze only, not the catalogue (CI).",
    ),
    quiet: bool = QUIET,
) -> None:
    """Recompute every frozen tag's dependencies and name each drift since its freeze."""
    from shrek.cli.progress import bars
    from shrek.ops.freeze import verify as run_verify

    results = run_verify(
        _registry(ctx), tags or [], progress=bars(quiet), skip_datasets=skip_datasets
    )
    failed = [r for r in results if not r.ok]
    if as_json:
        _print_json(
            [
                {
                    "tag": r.tag,
                    "frozen": r.digest is not None,
                    "digest": r.digest,
                    "ok": r.ok,
                    "drifts": [{"subject": d.subject, "message": d.message} for d in r.drifts],
                }
                for r in results
            ]
        )
    else:
        for result in results:
            if result.digest is None:
                typer.echo(
                    f"{result.tag}: not frozen (freeze it with 'shrek freeze {result.tag}')",
                    err=True,
                )
            elif result.drifts:
                typer.echo(f"{result.tag}: DRIFTED from its freeze ({result.digest})", err=True)
                for drift in result.drifts:
                    typer.echo(f"  {drift}", err=True)
            else:
                typer.echo(f"{result.tag}: ok, as frozen ({result.digest})")
        if not results:
            typer.echo("no frozen tags to verify")
    if failed:
        raise typer.Exit(ExitCode.DRIFT if any(r.digest for r in failed) else ExitCode.INVALID)


# -- render -------------------------------------------------------------------------------


@app.command()
def render(
    ctx: typer.Context,
    target: str = typer.Argument(
        ..., help="TAG or TAG/STEP, e.g. sP22aa/hfprod-pass1.", autocompletion=_complete_targets
    ),
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        file_okay=False,
        help="Directory to write into (its sandbox/ is replaced).",
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
) -> None:
    """Write the wrapper scripts, PanDA CWL, inputs YAML, prun lines and manifest."""
    from shrek.ops.render import render_target

    result = render_target(
        _registry(ctx), target, output, first_sequence=first_sequence, run_checks=check
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


# -- submit, status, log, kill, retry --------------------------------------------------------


@app.command()
def submit(
    ctx: typer.Context,
    target: str = typer.Argument(
        ...,
        help="TAG (every step, in dependency order) or TAG/STEP.",
        autocompletion=_complete_targets,
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
        False, "--again", help="Submit although the step has an active or completed submission."
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
    quiet: bool = QUIET,
) -> None:
    """Submit a frozen tag (or one step) to a backend and commit the submission records."""
    from shrek.cli.watch import follow
    from shrek.ops.submit import SubmitRequest
    from shrek.ops.submit import submit as run_submit

    registry = _registry(ctx)
    request = SubmitRequest(
        target,
        backend=backend,
        test=test,
        again=again,
        workers=jobs,
        detach=detach,
        options={k: v for k, v in (("via", via), ("no_check", no_check)) if v},
        overrides=_settings_pairs(panda),
    )
    try:
        result = run_submit(registry, request, wait=lambda s, r: follow(s, r, quiet=quiet))
    except KeyboardInterrupt:
        typer.echo(
            "shrek: submission killed; its records are committed ('shrek status' shows them)",
            err=True,
        )
        raise typer.Exit(130) from None
    for warning in result.overridden:
        typer.echo(f"shrek: TEST submission despite: {warning.splitlines()[0]}", err=True)
    typer.echo(
        f"submitted {result.tag}: run {result.run_id} (journal {result.journal_commit[:12]},"
        f" record {result.commit[:12]})"
    )
    failed = False
    for record in result.records:
        jobs_ = record.data.get("jobs", {})
        typer.echo(
            f"  {record.label}: {record.state}  {jobs_.get('done', 0)}/"
            f"{jobs_.get('total', 0)} job(s) done  -> "
            + ", ".join(record.data["datasets"]["outputs"].values())
        )
        for log in record.data.get("failed_logs", []):
            typer.echo(f"    failed job log: {log}", err=True)
        failed = failed or record.state in ("failed", "finished", "killed", "cancelled")
    if detach or not result.followed:
        typer.echo(f"running in the background: shrek status {result.tag}")
    if failed:
        raise typer.Exit(ExitCode.BACKEND)


@app.command()
def status(
    ctx: typer.Context,
    tags: list[str] = typer.Argument(
        None, help="Tags (default: every tag with submissions).", autocompletion=_complete_tags
    ),
    no_commit: bool = typer.Option(False, "--no-commit", help="Only look; commit nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Refresh submission states from the backends, show them, commit what changed."""
    from shrek.ops.status import refresh

    registry = _registry(ctx)
    names = [registry.resolve(t) for t in tags] if tags else registry.tag_names()
    rows = []
    with registry.lock("shrek status"):
        for name in names:
            result = refresh(registry, name, commit=not no_commit)
            for record in result.records:
                data = record.data
                rows.append(
                    {
                        "tag": name,
                        "step": record.step,
                        "number": record.number,
                        "test": record.test,
                        "backend": record.backend,
                        "state": record.state,
                        "jobs": data.get("jobs", {}),
                        "ids": data.get("ids", {}),
                        "outputs": data["datasets"]["outputs"],
                        "failed_logs": data.get("failed_logs", []),
                        "record": registry.relative(record.path),
                    }
                )
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo("no submissions yet")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("tag", "step", "#", "state", "jobs done/failed/total", "backend", "request"):
        table.add_column(column, overflow="fold")
    for row in rows:
        jobs_ = row["jobs"]
        state = row["state"] + (" [TEST]" if row["test"] else "")
        table.add_row(
            row["tag"],
            row["step"],
            f"{row['number']:04d}",
            state,
            f"{jobs_.get('done', 0)}/{jobs_.get('failed', 0)}/{jobs_.get('total', 0)}",
            row["backend"],
            str(row["ids"].get("request", "")),
        )
    Console(width=max(120, Console().width)).print(table)
    for row in rows:
        for log in row["failed_logs"]:
            typer.echo(f"{row['tag']}/{row['step']} #{row['number']:04d} failed job log: {log}")


@app.command()
def log(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The tag.", autocompletion=_complete_tags),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a tag's history from git: created, frozen, each submission and state change."""
    from shrek.ops.log import tag_history

    registry = _registry(ctx)
    events = tag_history(registry, registry.resolve(name))
    if as_json:
        _print_json(
            [
                {
                    "commit": e.commit,
                    "date": e.date,
                    "author": e.author,
                    "kind": e.kind,
                    "subject": e.subject,
                }
                for e in events
            ]
        )
        return
    for event in events:
        typer.echo(f"{event.date}  {event.commit[:10]}  {event.kind:<13} {event.subject}")


@app.command()
def kill(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="TAG or TAG/STEP.", autocompletion=_complete_targets),
) -> None:
    """Kill the active submissions of a tag (or one step); recorded and committed."""
    from shrek.ops.control import kill as run_kill

    for line in run_kill(_registry(ctx), target):
        typer.echo(line)


@app.command()
def retry(
    ctx: typer.Context,
    target: str = typer.Argument(
        ...,
        help="TAG/STEP: retry the failed jobs of its latest submission.",
        autocompletion=_complete_targets,
    ),
    memory: int | None = typer.Option(
        None, "--memory", min=1, help="PanDA: retry with this much memory per job (MB); recorded."
    ),
) -> None:
    """Retry the failed jobs of a step's latest finished or failed submission."""
    from shrek.ops.control import retry as run_retry

    overrides = {"memory_mb": memory} if memory else {}
    typer.echo(run_retry(_registry(ctx), target, overrides))


# -- datasets ------------------------------------------------------------------------------


@dataset_app.command("add")
def dataset_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Dataset name, e.g. mdc2.pythia8_pp_mb.g4hits."),
    files: list[Path] = typer.Argument(..., help="Existing files to register."),
    quiet: bool = QUIET,
) -> None:
    """Register existing files (with size and adler32) as a dataset of the local catalogue."""
    from shrek.catalogs.factory import open_catalog
    from shrek.cli.progress import bars
    from shrek.ops.dataset import add_files

    info = add_files(open_catalog(_registry(ctx)), name, files, progress=bars(quiet))
    typer.echo(f"dataset {info.name}: {info.files} file(s), {info.bytes} bytes")


@dataset_app.command("list")
def dataset_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the catalogue's datasets."""
    from shrek.catalogs.factory import open_catalog

    infos = open_catalog(_registry(ctx)).datasets()
    if as_json:
        _print_json([vars(i) for i in infos])
        return
    if not infos:
        typer.echo("no datasets yet: register files with 'shrek dataset add NAME FILE...'")
    for info in infos:
        created = f"  created {info.created}" if info.created else ""
        typer.echo(f"{info.name}  {info.files} file(s)  {info.bytes} bytes{created}")


@dataset_app.command("show")
def dataset_show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Dataset name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a dataset's files: name, size, checksum, location."""
    from shrek.catalogs.factory import open_catalog

    files = open_catalog(_registry(ctx)).files(name)
    if as_json:
        _print_json({"dataset": name, "files": [vars(f) for f in files]})
        return
    typer.echo(f"{name}: {len(files)} file(s), {sum(f.size for f in files)} bytes")
    for item in files:
        typer.echo(f"  {item.name}  {item.size}  {item.checksum}  {item.location}")


# -- review: READMEs, diffs, graphs, pull requests, schemas ------------------------------------


@app.command("render-readme")
def render_readme(
    ctx: typer.Context,
    tags: list[str] = typer.Argument(
        None, help="Tags (default: all).", autocompletion=_complete_tags
    ),
    commit: bool = typer.Option(False, "--commit", help="Commit the READMEs that changed."),
) -> None:
    """Write tags/<tag>/README.md: the summary a reviewer reads (deterministic)."""
    from shrek.ops.readme import refresh_readmes

    registry = _registry(ctx)
    names = [registry.resolve(t) for t in tags] if tags else registry.tag_names()
    changed = refresh_readmes(registry, names, commit=commit)
    for path in changed:
        typer.echo(f"wrote {registry.relative(path)}")
    if not changed:
        typer.echo("every README is up to date")


@app.command("diff")
def diff_command(
    ctx: typer.Context,
    first: str = typer.Argument(
        ...,
        help="The older tag, or the only tag (compared with its parent).",
        autocompletion=_complete_tags,
    ),
    second: str | None = typer.Argument(None, help="The newer tag.", autocompletion=_complete_tags),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show what differs between two tags (or a tag and its parent), semantically."""
    from shrek.core.diff import diff

    old, new, changes = diff(_registry(ctx), first, second)
    if as_json:
        _print_json({"old": old, "new": new, "changes": [c.as_dict() for c in changes]})
        return
    typer.echo(f"{new} compared with {old}: {len(changes)} change(s)")
    for change in changes:
        typer.echo(f"  {change}")


@app.command()
def graph(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The tag.", autocompletion=_complete_tags),
    format: str = typer.Option("mermaid", "--format", "-f", help="mermaid or dot."),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        dir_okay=False,
        help="Render to an .svg or .png file (needs Graphviz).",
    ),
) -> None:
    """Print the tag's step DAG (datasets on the edges), or render it to an image."""
    from shrek.core.validate import require_valid
    from shrek.ops import graph as graphs

    if format not in ("mermaid", "dot"):
        raise ShrekError(
            f"unknown graph format '{format}'", "use --format mermaid or dot", ExitCode.USAGE
        )
    tag = require_valid(_registry(ctx), name)
    if output is not None:
        graphs.render_image(graphs.dot(tag), output)
        typer.echo(f"wrote {output}")
        return
    typer.echo(graphs.mermaid(tag) if format == "mermaid" else graphs.dot(tag), nl=False)


@app.command()
def review(
    ctx: typer.Context,
    base: str = typer.Option(..., "--base", help="The pull request's base, e.g. origin/main."),
    summary: Path | None = typer.Option(
        None,
        "--summary",
        dir_okay=False,
        help="Append the Markdown summary here (CI: $GITHUB_STEP_SUMMARY).",
    ),
) -> None:
    """Pull-request checks: no frozen tag edited, ledger only appended; diffs for the summary."""
    from shrek.ops.review import review as run_review
    from shrek.ops.review import write_summary

    result = run_review(_registry(ctx), base)
    if summary is not None:
        write_summary(summary, result.summary)
    else:
        typer.echo(result.summary, nl=False)
    for finding in result.findings:
        typer.echo(str(finding), err=True)
    if not result.ok:
        typer.echo(f"shrek: the pull request breaks {len(result.findings)} rule(s)", err=True)
        raise typer.Exit(ExitCode.INVALID)
    typer.echo(f"ok: {len(result.changed_tags)} changed tag(s) reviewed", err=True)


@schema_app.command("export")
def schema_export(
    directory: Path = typer.Argument(..., file_okay=False, help="Where to write the schemas."),
) -> None:
    """Write every JSON Schema (file formats, --json outputs) for editors and other tools."""
    from shrek.core.schema import export

    for path in export(directory):
        typer.echo(f"wrote {path}")


# -- entry point ------------------------------------------------------------------------------


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors become messages, never tracebacks."""
    try:
        # Standalone mode: typer reports its own usage errors and always ends in SystemExit.
        app(args=argv, prog_name="shrek")
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else ExitCode.USAGE)
    except ShrekError as error:
        typer.echo(str(error), err=True)
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
