"""``shrek render-readme``, ``diff``, ``graph``, ``review``: what reviewers of a production read."""

from __future__ import annotations

from pathlib import Path

import typer

from shrek.cli.app import app, complete_tags, open_registry
from shrek.cli.output import AS_JSON, print_json
from shrek.errors import ExitCode, ShrekError


@app.command("render-readme")
def render_readme(
    ctx: typer.Context,
    tags: list[str] = typer.Argument(
        None, help="Tags (default: all).", autocompletion=complete_tags
    ),
    commit: bool = typer.Option(False, "--commit", help="Commit the READMEs that changed."),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 1 when a README does not match its tag (CI)."
    ),
) -> None:
    """Write tags/<tag>/README.md: the summary a reviewer reads (deterministic)."""
    from shrek.ops.readme import refresh_readmes, stale_readmes

    registry = open_registry(ctx)
    names = [registry.resolve(t) for t in tags] if tags else registry.tag_names()
    if check:
        stale = stale_readmes(registry, names)
        if stale:
            raise ShrekError(
                "README(s) that do not match their tag, so a reviewer would read a stale "
                "summary: " + ", ".join(registry.relative(p) for p in stale),
                "shrek render-readme --commit (or render-readme, then commit the READMEs)",
                ExitCode.INVALID,
            )
        typer.echo(f"every README matches its tag ({len(names)} checked)")
        return
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
        autocompletion=complete_tags,
    ),
    second: str | None = typer.Argument(None, help="The newer tag.", autocompletion=complete_tags),
    as_json: bool = AS_JSON,
) -> None:
    """Show what differs between two tags (or a tag and its parent), semantically."""
    from shrek.ops.review import compare

    old, new, changes, problems = compare(open_registry(ctx), first, second)
    if as_json:
        print_json({"old": old, "new": new, "changes": [c.as_dict() for c in changes]})
    else:
        typer.echo(f"{new} compared with {old}: {len(changes)} change(s)")
        for change in changes:
            typer.echo(f"  {change}")
    if problems:
        raise ShrekError(
            "compared as far as the tags load, but they are invalid",
            "fix what is shown above, then 'shrek validate'",
            ExitCode.INVALID,
            problems,
        )


@app.command()
def graph(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The tag.", autocompletion=complete_tags),
    format: str = typer.Option("mermaid", "--format", "-f", help="mermaid or dot."),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        dir_okay=False,
        help="Render to an .svg or .png file (needs Graphviz).",
    ),
) -> None:
    """Print the tag's step DAG (datasets on the edges), or render it to an image. An invalid
    tag is drawn as far as it loads (a cycle in red), then its problems fail the command."""
    from shrek.ops import graph as graphs

    if format not in ("mermaid", "dot"):
        raise ShrekError(
            f"unknown graph format '{format}'", "use --format mermaid or dot", ExitCode.USAGE
        )
    tag, problems = graphs.load_for_drawing(open_registry(ctx), name)
    if output is not None:
        graphs.render_image(graphs.dot(tag), output)
        typer.echo(f"wrote {output}")
    else:
        typer.echo(graphs.mermaid(tag) if format == "mermaid" else graphs.dot(tag), nl=False)
    if problems:
        raise ShrekError(
            f"tag {tag.name} is invalid; it is drawn as far as it loads"
            + (" (the cycle in red)" if graphs.cycle(tag) else ""),
            f"fix what is shown above, then 'shrek validate {tag.label}'",
            ExitCode.INVALID,
            problems,
        )


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

    result = run_review(open_registry(ctx), base)
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
