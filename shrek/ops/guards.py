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
from shrek.core.taint import Taints, registry_taints
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
    drifts = compare(tag, frozen, compute(registry, tag, open_catalog(registry)))
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


def standing(tag: Tag, step: str, test: bool, taints: Taints | None = None) -> Record | None:
    """The step's submission that says where it stands: its newest production (or, for
    ``test``, test) submission that reached the backend and is neither invalidated nor
    tainted (made from invalid outputs: its step must run again, as if never run)."""
    invalid = read_events(tag.directory).invalid_submissions
    taints = taints if taints is not None else registry_taints(tag.directory.parent)
    found = [
        r
        for r in load_records(tag.directory, step)
        if r.test == test
        and r.state != "abandoned"
        and str(r.data["id"]) not in invalid
        and not taints.of_record(r)
    ]
    return found[-1] if found else None


def jobs_failed(record: Record) -> str:
    jobs = record.data.get("jobs") or {}
    return f"{jobs.get('failed', 0)} of {jobs.get('total', 0)} jobs failed"


def steps_to_submit(
    tag: Tag, only: str | None, test: bool, again: bool
) -> tuple[list[str], list[str]]:
    """(steps to submit, in DAG order; what was skipped, one line each).

    ``TAG/STEP`` submits that step. ``TAG`` submits what is not yet done: a step whose
    standing submission is done is skipped (its outputs are read), so after pass1 ran the
    same command submits the rest. A step still active, or ``partial``, refuses with the fix
    that leads on (wait, or retry); ``--again`` submits every step named once more.
    """
    if again:
        return ([only] if only else tag.order()), []
    taints = registry_taints(tag.directory.parent)
    if only is not None:
        refuse_standing(tag, only, test, whole=False, taints=taints)
        return [only], []
    steps, skipped = [], []
    for name in tag.order():
        record = standing(tag, name, test, taints)
        if record is not None and record.state == "done":
            skipped.append(f"{record.label}: done")
            continue
        refuse_standing(tag, name, test, whole=True, taints=taints)
        steps.append(name)
    if not steps:
        generators = [s for s in tag.order() if not tag.steps[s].primary_inputs]
        readers = [s for s in tag.order() if s not in generators]
        fix = "; ".join(f"shrek extend {tag.label}/{s} --jobs N" for s in generators)
        if readers:
            fix += ", then " + ", ".join(f"shrek submit {tag.label}/{s} --again" for s in readers)
        raise ShrekError(
            f"every step of {tag.name} is done ({', '.join(skipped)}): nothing to submit",
            f"for more events: {fix} (reads the new files); to submit every step once more on "
            "purpose: add --again",
            ExitCode.ALREADY,
        )
    return steps, skipped


def refuse_standing(
    tag: Tag, step: str, test: bool, *, whole: bool, taints: Taints | None = None
) -> None:
    """Refuse a step whose standing submission is active, done (when named alone) or
    partial, with the command that leads on from there."""
    record = standing(tag, step, test, taints)
    if record is None or record.state not in (*ACTIVE, *COMPLETED):
        return  # never submitted, or it failed, was killed or cancelled: submit it (again)
    target = f"{tag.label}/{step}"
    kind = "test " if test else ""
    again = "; --again submits it once more anyway (sequence numbers continue)"
    if record.state in ACTIVE:
        message = (
            f"{tag.name}/{step} already has an active {kind}submission: #{record.number:04d} "
            f"({record.state})"
        )
        fix = f"wait for it to end (shrek status {tag.label}) or kill it (shrek kill {target})"
    elif record.state == "partial":
        message = (
            f"{tag.name}/{step}: its {kind}submission #{record.number:04d} ended partial "
            f"({jobs_failed(record)})"
        )
        fix = f"run the failed jobs again: shrek retry {target}"
    else:
        message = f"{tag.name}/{step} already has a done {kind}submission: #{record.number:04d}"
        fix = (
            "it read every file of its input: once the step upstream has made more (shrek "
            "extend), --again reads them"
            if tag.steps[step].primary_inputs
            else f"for more jobs of it: shrek extend {target} --jobs N"
        )
    if whole:
        fix += f"; then 'shrek submit {tag.label}' submits the rest"
    raise ShrekError(message, fix + again, ExitCode.ALREADY)


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


def refuse_tainted(tag: Tag, consumer: str, dataset: str, taint: str, accepted: bool) -> None:
    """A step would read outputs derived from an invalidated submission: refused unless the
    user accepts it (``--accept-tainted``, which the submission records)."""
    if accepted:
        return
    raise ShrekError(
        f"step {consumer} reads {dataset}, which is tainted: {taint}",
        f"make valid inputs first: shrek submit {tag.label} (it submits again every step whose "
        "newest outputs are invalid or tainted); or read them anyway on purpose: add "
        "--accept-tainted (recorded in the submission)",
        ExitCode.INVALIDATED,
    )


def earlier_readers(tag: Tag, step: str, test: bool, dataset: str) -> list[Record]:
    """The step's earlier submissions that read ``dataset`` as their primary input and did
    not fail: reading it again processes the same files twice."""
    invalid = read_events(tag.directory).invalid_submissions
    return [
        r
        for r in load_records(tag.directory, step)
        if r.test == test
        and (r.state in ACTIVE or r.state in COMPLETED)
        and str(r.data["id"]) not in invalid
        and dataset in (r.data.get("datasets") or {}).get("inputs", {}).values()
    ]


def refuse_reread(tag: Tag, step: str, dataset: str, readers: list[Record]) -> None:
    numbers = ", ".join(f"#{r.number:04d}" for r in readers)
    raise ShrekError(
        f"{tag.name}/{step} {numbers} already read {dataset}: this submission would process "
        "the same files again",
        "for new files, make more upstream first (shrek extend, then submit this step); to "
        "process these once more on purpose: add --reread (recorded in the submission)",
        ExitCode.ALREADY,
    )
