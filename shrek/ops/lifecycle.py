"""``shrek extend``, ``shrek invalidate``, ``shrek supersede``: the life of a production.

Each is committed like a submission: an extension *is* a submission (its record says which
one it ``extends``; its sequence numbers continue after every earlier one); an invalidation or
a supersession is an append-only event file (:mod:`shrek.core.lifecycle`). The tag's state is
derived from those files by :func:`shrek.core.lifecycle.tag_state`, and each action is only
accepted in the states that allow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shrek.catalogs.factory import local_catalog, open_catalog
from shrek.core.layout import LIFECYCLE_DIR
from shrek.core.lifecycle import Lifecycle, event_text, read_events, refuse_transition, tag_state
from shrek.core.model import load_tag
from shrek.core.oneline import one_line
from shrek.core.records import ACTIVE, Record, load_records, now
from shrek.core.registry import Registry
from shrek.core.render import select_steps
from shrek.core.yamlio import write_atomic
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.ops import remote
from shrek.ops.pending import change, settle
from shrek.ops.plan import SubmitRequest
from shrek.ops.readme import README, write_readme
from shrek.ops.submit import SubmitResult, Wait, submit


@dataclass(frozen=True)
class Invalidated:
    tag: str
    submissions: list[str]
    datasets: list[str]
    commit: str
    running: list[str]  # submissions whose jobs were still running when invalidated
    warnings: list[str]  # catalogues that could not be told


def invalidate(registry: Registry, target: str, reason: str) -> Invalidated:
    """Mark the submissions ``target`` names (TAG, TAG/STEP or TAG/STEP/NNNN) and their
    output datasets invalid, in one committed event."""
    reason = _reason(reason)
    name, step, number = _split(registry, target)
    repo = GitRepo(registry.root)
    repo.check_identity()
    with registry.lock(f"shrek invalidate {target}"):
        settle(registry, repo)  # an event left uncommitted is undone first
        tag_dir = registry.tag_dir(name)
        records = load_records(tag_dir, step)
        lifecycle = read_events(tag_dir)
        refuse_transition(
            "invalidate",
            name,
            tag_state(tag_dir, lifecycle=lifecycle),
            "only submitted productions can be invalidated: this one has no production "
            "output yet (edit or delete the tag instead)",
        )
        chosen = [
            r for r in records if (number is None or r.number == number) and r.state != "abandoned"
        ]
        if not chosen:
            raise ShrekError(
                f"{target} names no submission",
                "'shrek tag show " + name + "' lists the submissions",
                ExitCode.NOT_FOUND,
            )
        already = lifecycle.invalid_submissions
        fresh = [r for r in chosen if str(r.data["id"]) not in already]
        if not fresh:
            raise ShrekError(
                f"{target}: every submission it names is already invalidated "
                f"({already[str(chosen[0].data['id'])]})",
                "nothing to do: the invalidation is in the tag's lifecycle/ directory",
                ExitCode.NOTHING_TO_DO,
            )
        done = _write_invalidation(
            registry,
            repo,
            (name, lifecycle),
            {"kind": "invalidated", "target": target},
            fresh,
            reason,
        )
    done.warnings.extend(_mark_catalogues(registry, fresh, reason))
    return done


def void(registry: Registry, target: str, reason: str) -> Invalidated:
    """Repair a double without rewriting history: the later of two allocations of the same
    label (``TAG``) or of the same submission number, sequence range or dataset name
    (``TAG/STEP/NNNN``) is voided by an append-only event with its reason; the submissions it
    names and their outputs are invalid, and the double no longer blocks the registry."""
    reason = _reason(reason)
    name, step, number = _split(registry, target)
    if step is not None and number is None:
        raise ShrekError(
            f"void names one submission (TAG/STEP/NNNN) or a whole tag (TAG), not {target}",
            "'shrek verify' names the doubles and the exact target to void",
            ExitCode.USAGE,
        )
    repo = GitRepo(registry.root)
    repo.check_identity()
    with registry.lock(f"shrek void {target}"):
        settle(registry, repo)  # an event left uncommitted is undone first
        tag_dir = registry.tag_dir(name)
        lifecycle = read_events(tag_dir)
        records = [
            r
            for r in load_records(tag_dir, step)
            if not r.test and (number is None or r.number == number)
        ]
        if number is not None and not records:
            raise ShrekError(
                f"{target} names no production submission",
                f"'shrek tag show {name}' lists the submissions",
                ExitCode.NOT_FOUND,
            )
        idents = [str(r.data["id"]) for r in records]
        if (step is None and lifecycle.tag_voided) or (
            step is not None and set(idents) <= lifecycle.voided
        ):
            raise ShrekError(
                f"{target} is already voided",
                "nothing to do: the event is in the tag's lifecycle/ directory",
                ExitCode.NOTHING_TO_DO,
            )
        done = _write_invalidation(
            registry,
            repo,
            (name, lifecycle),
            {"kind": "voided", "target": name if step is None else target},
            records,
            reason,
        )
    done.warnings.extend(_mark_catalogues(registry, records, reason) if records else [])
    return done


def _write_invalidation(
    registry: Registry,
    repo: GitRepo,
    tag: tuple[str, Lifecycle],
    what: dict[str, str],
    records: list[Record],
    reason: str,
) -> Invalidated:
    """The event of ``invalidate`` or ``void`` (``what``: its kind and target) for
    ``records`` and their outputs, written and committed in the tag ``(name, lifecycle)``."""
    name, lifecycle = tag
    idents = [str(r.data["id"]) for r in records]
    datasets = [d for r in records for d in r.datasets_written]
    event = {
        "schema_version": 1,
        **what,
        "at": now(),
        "by": repo.user(),
        "reason": reason,
        "submissions": idents,
        "datasets": datasets,
    }
    verb = "invalidate" if what["kind"] == "invalidated" else "void"
    listed = f": {', '.join(idents)}" if verb == "invalidate" else ""
    commit = _commit_events(
        registry,
        repo,
        {name: (lifecycle, event)},
        f"shrek: {verb} {what['target']}{listed} ({reason.splitlines()[0]})",
        f"shrek {verb} {what['target']}",
    )
    running = [str(r.data["id"]) for r in records if r.state in ACTIVE]
    return Invalidated(name, idents, datasets, commit, running, [])


def _mark_catalogues(registry: Registry, records: list[Record], reason: str) -> list[str]:
    """The catalogues show it too: the local one marks the datasets, Rucio gets
    ``shrek_invalid`` metadata on those published there. (The committed event is what SHREK's
    guards read, so a catalogue that cannot be reached now is a warning, not a failure.)"""
    local = local_catalog(registry)
    for record in records:
        for dataset in record.data["datasets"]["outputs"].values():
            if local.exists(dataset):
                local.mark_invalid(dataset, reason)
    published = [did for r in records for did in (r.data["datasets"].get("rucio") or {}).values()]
    if not published:
        return []
    rucio = open_catalog(registry, "rucio")
    warnings = []
    for did in published:
        try:
            kept = rucio.annotate(did, {"shrek_invalid": reason})
        except ShrekError as error:
            warnings.append(f"Rucio does not show {did} invalid yet: {error.message}")
            continue
        if not kept:
            warnings.append(
                f"this Rucio server keeps no JSON metadata, so {did} is marked invalid in "
                "the registry and the local catalogue only"
            )
    return warnings


@dataclass(frozen=True)
class Superseded:
    old: str
    new: str
    commit: str


def supersede(registry: Registry, old: str, new: str, reason: str) -> Superseded:
    """Record that tag ``new`` replaces tag ``old`` (an event in each, one commit)."""
    reason = _reason(reason)
    old_name, new_name = registry.resolve(old), registry.resolve(new)
    if old_name == new_name:
        raise ShrekError(
            "a tag cannot supersede itself", "name the corrected tag after --by", ExitCode.USAGE
        )
    repo = GitRepo(registry.root)
    repo.check_identity()
    with registry.lock(f"shrek supersede {old_name}"):
        settle(registry, repo)  # an event left uncommitted is undone first
        old_dir, new_dir = registry.tag_dir(old_name), registry.tag_dir(new_name)
        old_events, new_events = read_events(old_dir), read_events(new_dir)
        if old_events.superseded_by:
            raise ShrekError(
                f"tag {old_name} is already superseded by {old_events.superseded_by}",
                "a tag is superseded once; supersede the newer tag instead if it is wrong too",
                ExitCode.LIFECYCLE,
            )
        if new_events.superseded_by:
            raise ShrekError(
                f"tag {new_name} is itself superseded by {new_events.superseded_by}",
                f"supersede {old_name} by {new_events.superseded_by}",
                ExitCode.LIFECYCLE,
            )
        refuse_transition(
            "supersede",
            old_name,
            tag_state(old_dir, lifecycle=old_events),
            "a draft is not a production yet: edit it, or delete it, instead",
        )
        refuse_transition(
            "supersede",
            new_name,
            tag_state(new_dir, lifecycle=new_events),
            f"freeze {new_name} first (shrek freeze {new_name}): a replacement is reviewed and "
            "frozen before it replaces anything",
        )
        common = {"schema_version": 1, "at": now(), "by": repo.user(), "reason": reason}
        commit = _commit_events(
            registry,
            repo,
            {
                old_name: (old_events, {**common, "kind": "superseded", "tag": new_name}),
                new_name: (new_events, {**common, "kind": "supersedes", "tag": old_name}),
            },
            f"shrek: supersede {old_name} by {new_name} ({reason.splitlines()[0]})",
            f"shrek supersede {old_name} --by {new_name}",
        )
    return Superseded(old_name, new_name, commit)


def extend(
    registry: Registry,
    target: str,
    jobs: int,
    *,
    wait: Wait | None = None,
    **submit_options: Any,
) -> SubmitResult:
    """``jobs`` more jobs of a done generator step: a new submission that ``extends`` the
    newest one, its sequence numbers continuing after every number handed out so far."""
    name, step = registry.split_target(target)
    if step is None:
        raise ShrekError(
            "extend adds jobs to one step", f"name it: shrek extend {target}/STEP", ExitCode.USAGE
        )
    tag, _ = load_tag(registry, name)
    if tag is not None:
        select_steps(tag, [step])  # an unknown step: "no step ..., did you mean ..."
    if tag is not None and tag.steps[step].primary_inputs:
        raise ShrekError(
            f"{name}/{step} reads {tag.steps[step].primary_inputs[0].dataset}: its jobs follow "
            "its input files, so it cannot be given more jobs",
            "extend the generator step upstream, then submit this one for the new outputs",
            ExitCode.USAGE,
        )
    test = bool(submit_options.get("test"))
    previous = _extendable(registry, name, step, test)
    request = SubmitRequest(
        f"{name}/{step}",
        again=True,
        extends=str(previous.data["id"]),
        more_jobs=jobs,
        **submit_options,
    )
    return submit(registry, request, wait=wait)


def _extendable(registry: Registry, name: str, step: str, test: bool) -> Record:
    """The submission an extension continues: the step's newest, done and valid."""
    tag_dir = registry.tag_dir(name)
    lifecycle = read_events(tag_dir)
    refuse_transition(
        "extend",
        name,
        tag_state(tag_dir, lifecycle=lifecycle),
        f"only a submitted production can be extended: shrek submit {name}/{step} first",
    )
    records = [r for r in load_records(tag_dir, step) if r.test == test and r.state != "abandoned"]
    if not records:
        raise ShrekError(
            f"{name}/{step} has no {'test ' if test else ''}submission to extend",
            f"submit it first: shrek submit {name}/{step}",
            ExitCode.LIFECYCLE,
        )
    newest = records[-1]
    invalid = lifecycle.invalid_reason(str(newest.data["id"]))
    if invalid:
        raise ShrekError(
            f"{newest.label} of {name} is invalidated ({invalid}): it cannot be extended",
            f"submit the step afresh: shrek submit {name}/{step} --again",
            ExitCode.INVALIDATED,
        )
    if newest.state != "done":
        label = name.partition("-")[0]
        fix = (
            f"wait for it to end: shrek status {label}"
            if newest.state in ACTIVE
            else f"run its failed jobs again first: shrek retry {label}/{step}"
            if newest.state == "partial"
            else f"submit the step again first: shrek submit {label}/{step}"
        )
        raise ShrekError(
            f"{newest.label} of {name} is {newest.state}: only a done submission is extended",
            fix,
            ExitCode.LIFECYCLE,
        )
    return newest


# -- helpers -----------------------------------------------------------------------------


def _reason(reason: str) -> str:
    text = one_line(reason, "--reason")
    if not text:
        raise ShrekError(
            "--reason is empty", "say why, for whoever finds this production later", ExitCode.USAGE
        )
    return text


def _split(registry: Registry, target: str) -> tuple[str, str | None, int | None]:
    """TAG, TAG/STEP or TAG/STEP/NNNN -> (tag, step, number)."""
    head, _, number = target.strip().rstrip("/").rpartition("/")
    if number.isdigit() and head.count("/") >= 1:
        name, step = registry.split_target(head)
        return name, step, int(number)
    name, step = registry.split_target(target)
    return name, step, None


def _commit_events(
    registry: Registry,
    repo: GitRepo,
    events: dict[str, tuple[Lifecycle, dict[str, Any]]],
    message: str,
    command: str,
) -> str:
    """Write each tag's next event file and commit them with the tags' READMEs, whole or not
    at all (:mod:`shrek.ops.pending`)."""
    with change(registry, repo, command) as pending:
        for name, (lifecycle, event) in events.items():
            path = registry.tag_dir(name) / LIFECYCLE_DIR / f"{lifecycle.next_number():04d}.yaml"
            pending.touches(path, registry.tag_dir(name) / README)
            write_atomic(path, event_text(event))
            write_readme(registry, name)
        commit = pending.commit(message, publish=True)
    remote.publish_commits(registry, repo)
    return commit
