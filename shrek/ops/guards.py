"""The guards of ``shrek submit``: what must hold before anything is journalled or sent.

Each refusal has its own exit code and fix. The git and freeze guards may be overridden by
``--test`` (and the submission records which, and why); validation, missing upstream outputs
and duplicates never are.
"""

from __future__ import annotations

from typing import Any

from shrek.catalogs.factory import open_catalog
from shrek.core.freeze import compare, compute, read_freeze
from shrek.core.lifecycle import invalid_datasets, read_events
from shrek.core.model import Tag
from shrek.core.records import ACTIVE, COMPLETED, Record, load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.ops import remote
from shrek.ops.pending import interrupted_command

Refusal = tuple[str, ShrekError]  # (the guard's name, its refusal)


def git_guards(registry: Registry, repo: GitRepo, tag: Tag) -> list[Refusal]:
    """The git guards that --test may override, as (name, refusal) for those that fail."""
    failures = []
    dirty = repo.dirty_paths(
        [tag.directory, registry.root / "shrek.yaml", registry.root / "labels.ledger"]
    )
    if dirty:
        interrupted = interrupted_command(registry)
        fix = (
            f"they are what an interrupted '{interrupted}' left: run it again (it finishes "
            "the job), then submit"
            if interrupted
            else "commit them (or git stash them), then submit again; --test submits anyway "
            "and records it"
        )
        failures.append(
            (
                "dirty",
                ShrekError(
                    "the registry has uncommitted or untracked changes this submission depends on: "
                    + ", ".join(dirty[:5])
                    + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else ""),
                    fix,
                    ExitCode.DIRTY,
                ),
            )
        )
    branch = repo.branch()
    if branch != registry.production_branch:
        where = f"on branch '{branch}'" if branch else "on a detached HEAD"
        failures.append(
            (
                "branch",
                ShrekError(
                    f"production submissions are made from the branch "
                    f"'{registry.production_branch}' (shrek.yaml: production_branch); this "
                    f"checkout is {where}",
                    f"git switch {registry.production_branch} (merge this work there first); "
                    "--test submits from here and records it",
                    ExitCode.WRONG_BRANCH,
                ),
            )
        )
    side = remote.shared(registry, repo)
    if side.remote is not None and side.attached:  # SHREK's own commits it publishes itself
        mine = remote.position(side).users
        unpushed = f"{side.remote}/{side.branch}" if mine else ""
    else:
        unpushed = repo.unpushed()
    if unpushed:
        failures.append(
            (
                "unpushed",
                ShrekError(
                    f"HEAD {repo.head()[:12]} is not on the remote ({unpushed})",
                    "git push first, so the submission's commit can be found by everyone; --test "
                    "submits anyway",
                    ExitCode.NOT_PUSHED,
                ),
            )
        )
    return failures


def freeze_guards(registry: Registry, tag: Tag) -> tuple[dict[str, Any] | None, list[Refusal]]:
    frozen, problems = read_freeze(registry, tag.name)
    if problems:
        raise ShrekError(
            f"the freeze of {tag.name} is damaged",
            "restore it from git",
            ExitCode.NOT_VALID,
            problems,
        )
    if frozen is None:
        return None, [
            (
                "unfrozen",
                ShrekError(
                    f"tag {tag.name} is not frozen",
                    f"freeze it first: shrek freeze {tag.label} "
                    "(--test submits an unfrozen tag and records that)",
                    ExitCode.NOT_FROZEN,
                ),
            )
        ]
    drifts = compare(registry, tag, frozen, compute(registry, tag, open_catalog(registry)))
    if drifts:
        return frozen, [
            (
                "drifted",
                ShrekError(
                    f"tag {tag.name} drifted from its freeze ({frozen['digest']}):\n  "
                    + "\n  ".join(map(str, drifts)),
                    f"restore what changed, or make a new tag: shrek tag new --from {tag.label}",
                    ExitCode.DRIFTED,
                ),
            )
        ]
    return frozen, []


def latest_completed(tag: Tag, step: str, test: bool) -> Record | None:
    """The newest ``done`` submission of ``step`` a new submission may read from.

    A production submission reads only production outputs; a test one reads either.
    """
    candidates = [
        r for r in load_records(tag.directory, step) if r.state == "done" and (test or not r.test)
    ]
    return candidates[-1] if candidates else None


def refuse_duplicates(tag: Tag, steps: list[str], test: bool, again: bool) -> None:
    if again:
        return
    for name in steps:
        busy = [
            r
            for r in load_records(tag.directory, name)
            if r.test == test and (r.state in ACTIVE or r.state in COMPLETED)
        ]
        if busy:
            record = busy[-1]
            kind = "an active" if record.state in ACTIVE else "a completed"
            raise ShrekError(
                f"{tag.name}/{name} already has {kind} {'test ' if test else ''}submission: "
                f"#{record.number:04d} ({record.state})",
                "to submit it once more on purpose, add --again (sequence numbers continue, "
                "nothing is overwritten)",
                ExitCode.ALREADY,
            )


def refuse_invalid_source(tag: Tag, source: Record, consumer: str, declared: str) -> None:
    """An invalidated submission's outputs are never read again (``shrek invalidate``)."""
    reason = read_events(tag.directory).invalid_reason(str(source.data["id"]))
    if reason:
        raise ShrekError(
            f"step {consumer} reads {declared}, but {source.step} #{source.number:04d} "
            f"(the newest completed submission) is invalidated: {reason}",
            f"submit {source.step} again to make valid outputs (shrek submit "
            f"{tag.label}/{source.step} --again), then submit {consumer}",
            ExitCode.INVALIDATED,
        )


def refuse_invalid_dataset(registry: Registry, dataset: str, consumer: str) -> None:
    """An external input that another tag's production made and then invalidated."""
    invalid = invalid_datasets(registry.tags_dir).get(dataset)
    if invalid:
        raise ShrekError(
            f"step {consumer} reads {dataset}, which tags/{invalid[0]} invalidated: {invalid[1]}",
            "read a valid dataset instead (a new submission of the step that makes it)",
            ExitCode.INVALIDATED,
        )


def refuse_superseded(tag: Tag, test: bool) -> None:
    """A superseded tag takes no production submission (``--test`` still works)."""
    lifecycle = read_events(tag.directory)
    if lifecycle.tag_voided and not test:
        raise ShrekError(
            f"tag {tag.name} is voided (its label was issued twice): {lifecycle.tag_voided}",
            f"make a new tag from it: shrek tag new --from {tag.name}",
            ExitCode.SUPERSEDED,
        )
    newer = lifecycle.superseded_by
    if newer and not test:
        raise ShrekError(
            f"tag {tag.name} is superseded by {newer}: it takes no more production submissions",
            f"submit {newer} instead (--test still submits this one, as a test)",
            ExitCode.SUPERSEDED,
        )
