"""``shrek tag new|list|show``: create and inspect production tags; ``shrek import``: a tag
from 2022 job files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from shrek.cli.app import (
    app,
    complete_builds,
    complete_tags,
    complete_templates,
    open_registry,
    tag_app,
)
from shrek.cli.output import AS_JSON, WROTE_JSON, print_json
from shrek.errors import ExitCode, ShrekError

SKIP_TO = typer.Option(
    None,
    "--skip-to",
    help="Claim this label although it skips unused labels of its year ('next free' never "
    "goes back to them).",
)


def claimed(label: str | None, skip_to: str | None) -> str | None:
    """The label given, by position or by --skip-to (which lets it skip unused labels)."""
    if label and skip_to and label != skip_to:
        raise ShrekError(
            f"two labels given: {label} and --skip-to {skip_to}", "give one", ExitCode.USAGE
        )
    return skip_to or label


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
        help="Software build, e.g. mdc2.7 (default: the parent's with --from, else shrek.yaml's "
        "default_build).",
        autocompletion=complete_builds,
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
        None,
        "--template",
        "-t",
        help="Start from a template: demo (two steps that run on any machine, --build local) "
        "or hfprod (the two-step MDC2 heavy-flavour example).",
        autocompletion=complete_templates,
    ),
    title: str | None = typer.Option(None, "--title", help="One-line title."),
    owner: str | None = typer.Option(None, "--owner", help="Owner (default: your git identity)."),
    skip_to: str | None = SKIP_TO,
    as_json: bool = WROTE_JSON,
) -> None:
    """Create a tag directory tags/<label>-<build>/ and commit it."""
    from shrek.ops.tag import TagRequest, new_tag

    created = new_tag(
        open_registry(ctx),
        TagRequest(
            label=claimed(label, skip_to),
            skip_to=bool(skip_to),
            build=build,
            year=year,
            test=test,
            parent=parent,
            template=template,
            title=title,
            owner=owner,
        ),
    )
    if as_json:
        print_json(
            {"tag": created.name, "directory": f"tags/{created.name}", "commit": created.commit}
        )
        return
    typer.echo(f"created tags/{created.name} (commit {created.commit[:12]})")
    label = created.name.partition("-")[0]
    steps = sorted(p.name for p in (created.directory / "job").glob("*.yaml"))
    if steps:
        typer.echo(
            f"next: edit tags/{created.name}/job/ ({', '.join(steps)}), then shrek validate {label}"
        )
    else:
        typer.echo(
            f"next: write the steps as tags/{created.name}/job/<step>.yaml (schemas/"
            "step.schema.json; 'shrek tag new --template demo' makes an example to copy), "
            f"then shrek validate {label}"
        )


@app.command("import")
def import_tag(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="The directory of 2022 job-definition files."),
    label: str | None = typer.Argument(
        None, help="The label to claim; omit to allocate the next free one."
    ),
    build: str = typer.Option(
        ..., "--build", "-b", help="Software build, e.g. mdc2.8.", autocompletion=complete_builds
    ),
    year: int | None = typer.Option(
        None, "--year", "-y", help="Two-digit year to allocate in (default: this year)."
    ),
    resources_root: Path | None = typer.Option(
        None,
        "--resources-root",
        help="Where the files' Resources globs are relative to, and where absolute ones are "
        "looked up as if it were / (default: DIRECTORY; 2022 ran from its checkout).",
    ),
    title: str | None = typer.Option(None, "--title", help="One-line title."),
    skip_to: str | None = SKIP_TO,
    site: str | None = typer.Option(
        None,
        "--site",
        help="PanDA site of the steps that name none (default: shrek.yaml's panda.site; "
        "2022 took BNL_OSG_SPHENIX from its configuration).",
    ),
    as_json: bool = WROTE_JSON,
) -> None:
    """Create one tag from a directory of 2022 job files; list what could not be carried over."""
    from shrek.ops.importer import IMPORT_NOTES, ImportRequest, import_2022

    imported = import_2022(
        open_registry(ctx),
        ImportRequest(
            directory,
            build=build,
            label=claimed(label, skip_to),
            skip_to=bool(skip_to),
            site=site,
            year=year,
            resources_root=resources_root,
            title=title,
        ),
    )
    if as_json:
        print_json(
            {
                "tag": imported.tag,
                "commit": imported.commit,
                "notes": [vars(n) for n in imported.notes],
                "findings": [f.as_dict() for f in imported.findings],
            }
        )
        if imported.findings:
            raise typer.Exit(ExitCode.INVALID)
        return
    typer.echo(f"created tags/{imported.tag} (commit {imported.commit[:12]})")
    if imported.notes:
        typer.echo(
            f"{len(imported.notes)} thing(s) not carried over (tags/{imported.tag}/{IMPORT_NOTES}):"
        )
        for note in imported.notes:
            typer.echo(f"  {note}")
    if imported.findings:
        for finding in imported.findings:
            typer.echo(str(finding), err=True)
        typer.echo(
            f"shrek: the imported tag does not validate yet: fix the {len(imported.findings)} "
            f"problem(s) above, then shrek validate {imported.tag}",
            err=True,
        )
        raise typer.Exit(ExitCode.INVALID)
    typer.echo(f"the tag validates: next, review it, then shrek freeze {imported.tag}")


@tag_app.command("list")
def tag_list(
    ctx: typer.Context,
    as_json: bool = AS_JSON,
) -> None:
    """List the registry's tags: label, build, steps, state."""
    from shrek.cli.quick import tag_list_text
    from shrek.ops.listing import listing

    typer.echo(tag_list_text(listing(open_registry(ctx)), as_json=as_json))


@tag_app.command("show")
def tag_show(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., help="Label (sP22aa) or full tag name (sP22aa-mdc2.7).", autocompletion=complete_tags
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Show everything about one tag."""
    from shrek.ops.remote import describe
    from shrek.ops.tag import details

    registry = open_registry(ctx)
    info = details(registry, registry.resolve(name))
    if as_json:
        print_json(info)
        return
    typer.echo(_format_details(info))
    typer.echo(f"registry: {describe(registry)}")


# Complex by design: one branch per section of 'tag show'.
def _format_details(info: dict[str, Any]) -> str:  # noqa: C901
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
    lineage = info.get("lineage") or {}
    if lineage.get("superseded_by"):
        lines.append(f"  SUPERSEDED:  by {lineage['superseded_by']}")
    for older in lineage.get("supersedes") or []:
        lines.append(f"  supersedes:  {older}")
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
    lines += _submission_lines(info.get("submissions") or [])
    return "\n".join(lines)


def _submission_lines(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["  submissions: none yet"]
    lines = [f"  submissions ({len(rows)}):"]
    for row in rows:
        marks = (
            (" [TEST]" if row["test"] else "")
            + (f"  TAINTED: {row['tainted']}" if row["tainted"] else "")
        ) + (f"  INVALID: {row['invalid']}" if row["invalid"] else "")
        lines.append(
            f"    {row['step']} #{row['number']:04d}: {row['state']}, sequences "
            f"{row['sequences']['first']}-{row['sequences']['last']}, {row['backend']}"
            + (f", extends {row['extends']}" if row["extends"] else "")
            + marks
        )
        for output in row["outputs"].values():
            size = (
                f"{output['files']} file(s), {output['bytes']} bytes"
                if output["files"] is not None
                else "not catalogued here"
            )
            lines.append(f"      -> {output['dataset']}  ({size}; {output['where']})")
    return lines
