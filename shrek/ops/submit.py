"""``shrek submit``: the guarded hand-over of a frozen tag to a backend, recorded in git.

The order of work is what makes a submission safe to interrupt:

1. under the registry lock, reconcile the tag's unfinished records with their backends;
2. the guards (validation; and, unless ``--test``: a clean tree, HEAD on the remote, a freeze,
   no drift), then upstream datasets and duplicates — each refusal with its own exit code;
3. render into the run directory, reserve sequence numbers, write every record in state
   ``submitting`` and **commit** it (the journal);
4. call the backend, then commit the records with its identifiers (``submitted``);
5. (not detached) wait, showing progress, and commit the final states.

An interruption before 3 leaves nothing; after 3 a journalled record that the next ``submit``
or ``status`` reconciles (completed if the backend has it, ``abandoned`` if not).
"""

from __future__ import annotations

import math
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shrek import __version__
from shrek.backends import Backend, StepPlan, Submission, get_backend
from shrek.catalogs.factory import open_catalog
from shrek.core.freeze import compare, compute, read_freeze
from shrek.core.model import Tag
from shrek.core.records import (
    ACTIVE,
    COMPLETED,
    Record,
    load_records,
    next_number,
    next_sequence,
    now,
    record_path,
)
from shrek.core.registry import Registry
from shrek.core.render import Options, default_scope, render
from shrek.core.validate import require_valid
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.ops.readme import write_readme
from shrek.ops.status import refresh

Progress = Callable[[list[Record]], None]


@dataclass
class SubmitResult:
    tag: str
    records: list[Record]
    run_id: str
    journal_commit: str
    commit: str
    final_commit: str | None = None
    overridden: list[str] = field(default_factory=list)
    followed: bool = False


# -- guards ----------------------------------------------------------------------------------


def _git_guards(registry: Registry, repo: GitRepo, tag: Tag) -> list[tuple[str, ShrekError]]:
    """The git guards that --test may override, as (name, refusal) for those that fail."""
    failures = []
    dirty = repo.dirty_paths(
        [tag.directory, registry.root / "shrek.yaml", registry.root / "labels.ledger"]
    )
    if dirty:
        failures.append(
            (
                "dirty",
                ShrekError(
                    "the registry has uncommitted or untracked changes this submission depends on: "
                    + ", ".join(dirty[:5])
                    + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else ""),
                    "commit them (or git stash them), then submit again; --test submits anyway and "
                    "records it",
                    ExitCode.DIRTY,
                ),
            )
        )
    unpushed = repo.unpushed()
    if unpushed:
        failures.append(
            (
                "unpushed",
                ShrekError(
                    f"HEAD {repo.head()[:12]} is not on any branch of the remote ({unpushed})",
                    "git push first, so the submission's commit can be found by everyone; --test "
                    "submits anyway",
                    ExitCode.NOT_PUSHED,
                ),
            )
        )
    return failures


def _freeze_guards(
    registry: Registry, tag: Tag
) -> tuple[dict[str, Any] | None, list[tuple[str, ShrekError]]]:
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


def _latest_completed(tag: Tag, step: str, test: bool) -> Record | None:
    """The newest ``done`` submission of ``step`` a new submission may read from.

    A production submission reads only production outputs; a test one reads either.
    """
    candidates = [
        r for r in load_records(tag.directory, step) if r.state == "done" and (test or not r.test)
    ]
    return candidates[-1] if candidates else None


# -- planning --------------------------------------------------------------------------------


def _plan(
    registry: Registry,
    backend: Backend,
    tag: Tag,
    steps: list[str],
    test: bool,
    frozen: dict[str, Any] | None,
    options: dict[str, Any],
) -> list[StepPlan]:
    """Number each step's submission, name its datasets and reserve its sequence numbers.

    The reservation is an upper bound on the number of jobs: a generator's ``jobs``; for an
    input-driven step, its primary input's files (the frozen count of an external dataset, or
    one file per job of the upstream step) divided by ``files_per_job``.
    """
    chosen = set(steps)
    numbers = {name: next_number(tag.directory, name) for name in steps}
    names = backend.output_names(tag, steps, numbers, test, options)
    frozen_counts = {i["dataset"]: i["files"] for i in (frozen or {}).get("inputs", [])}
    plans: dict[str, StepPlan] = {}
    for name in steps:
        step = tag.steps[name]
        inputs: dict[str, str] = {}
        upstream: list[str] = []
        available: dict[str, int] = {}  # dataset -> number of files (at most)
        for item in step.inputs:
            made_by = tag.producer(item)
            if made_by is None:
                inputs[item.dataset] = item.dataset
                available[item.dataset] = frozen_counts.get(item.dataset) or len(
                    open_catalog(registry).files(item.dataset)
                )
            elif made_by[0] in chosen:
                parent = plans[made_by[0]]
                inputs[item.dataset] = parent.outputs[made_by[1]]
                upstream.append(made_by[0])
                available[item.dataset] = parent.reserved  # one file per job at most
            else:
                source = _latest_completed(tag, made_by[0], test)
                if source is None:
                    raise ShrekError(
                        f"step {name} reads {item.dataset}, but {made_by[0]} has no completed "
                        "submission to read from",
                        f"submit it first (shrek submit {tag.label}/{made_by[0]}), or submit "
                        f"the whole tag (shrek submit {tag.label})",
                        ExitCode.NO_UPSTREAM,
                    )
                if source.backend != backend.name:
                    raise ShrekError(
                        f"step {name} reads {item.dataset}, made by {made_by[0]} "
                        f"#{source.number:04d} on the {source.backend} backend, not on "
                        f"{backend.name}",
                        f"submit {made_by[0]} on {backend.name} first",
                        ExitCode.NO_UPSTREAM,
                    )
                inputs[item.dataset] = source.data["datasets"]["outputs"][made_by[1]]
                used = source.data["sequences"][made_by[0]]
                available[item.dataset] = used["last"] - used["first"] + 1
        primary = step.primary_inputs
        if primary:
            reserved = max(1, math.ceil(available[primary[0].dataset] / primary[0].files_per_job))
        else:
            reserved = int(step.jobs or 1)
        plans[name] = StepPlan(
            name,
            numbers[name],
            record_path(tag.directory, name, numbers[name]),
            next_sequence(tag.directory, name),
            reserved,
            inputs,
            names[name],
            sorted(set(upstream)),
        )
    return [plans[s] for s in steps]


def _check_duplicates(tag: Tag, steps: list[str], test: bool, again: bool) -> None:
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


# -- records ---------------------------------------------------------------------------------


def _new_record(
    tag: Tag,
    plan: StepPlan,
    backend: Backend,
    submission: Submission,
    frozen: dict[str, Any] | None,
    overridden: list[str],
    again: bool,
    repo: GitRepo,
    workflow: list[str],
) -> Record:
    step = tag.steps[plan.step]
    rendering = submission.rendering
    import yaml

    cwl = yaml.safe_load(rendering.sandbox["workflow.cwl"].decode())
    step_in = cwl["steps"][plan.step]["in"]
    manifest = yaml.safe_load(rendering.extra["manifest.yaml"])
    wrapper = next(e for e in manifest["files"] if e["path"] == f"{plan.step}.sh")
    data: dict[str, Any] = {
        "schema_version": 1,
        "id": f"{tag.name}/{plan.step}/{plan.number:04d}",
        "tag": tag.name,
        "step": plan.step,
        "number": plan.number,
        "test": submission.test,
    }
    if len(workflow) > 1:
        data["workflow"] = workflow
    if overridden:
        data["overridden_guards"] = overridden
    if again:
        data["again"] = True
    data.update(
        {
            "backend": {"name": backend.name, "version": backend.version()},
            # the local run is named before it starts; PanDA's ids come from the server
            "ids": {"request": submission.run_id} if backend.name == "local" else {},
            "state": "submitting",
            "history": [
                {
                    "at": now(),
                    "state": "submitting",
                    "note": "journalled before the backend is called",
                }
            ],
            "submitted": {
                "by": repo.user(),
                "at": now(),
                "registry_commit": repo.head(),
                "shrek_version": __version__,
            },
            "freeze_digest": frozen["digest"] if frozen else None,
            "datasets": {"inputs": plan.inputs, "outputs": plan.outputs},
            "commands": {
                "exec": step_in["opt_exec"]["default"],
                "args": step_in["opt_args"]["default"],
                "prun": rendering.extra[f"{plan.step}.prun"].strip(),
                "wrapper": f"{plan.step}.sh",
                "wrapper_sha256": wrapper["sha256"],
                "manifest_digest": manifest["manifest_digest"],
            },
            "sequences": {
                plan.step: {
                    "first": plan.first_sequence,
                    "last": plan.first_sequence + plan.reserved - 1,
                }
            },
            "requirements": dict(step.requirements),
            "jobs": {"total": 0, "done": 0, "running": 0, "failed": 0, "pending": 0},
        }
    )
    return Record(plan.record_path, data)


# -- the command -----------------------------------------------------------------------------


def submit(
    registry: Registry,
    target: str,
    *,
    backend_name: str | None = None,
    test: bool = False,
    again: bool = False,
    workers: int | None = None,
    detach: bool = False,
    wait: Callable[[Submission, list[Record]], None] | None = None,
    options: dict[str, Any] | None = None,
    backend_overrides: dict[str, Any] | None = None,
) -> SubmitResult:
    """Submit ``TAG`` (every step, in dependency order) or ``TAG/STEP``."""
    name, only = registry.split_target(target)
    repo = GitRepo(registry.root)
    repo.check_identity()
    backend = get_backend(registry, backend_name, backend_overrides)
    with registry.lock(f"shrek submit {target}"):
        refresh(registry, name, repo=repo)  # reconcile what an interrupted command left
        tag = require_valid(
            registry,
            name,
            code=ExitCode.NOT_VALID,
            refusal="fails validation, so it cannot be submitted (not even with --test)",
        )
        if only is not None and only not in tag.steps:
            render(registry, tag, [only])  # raises the "no step ... did you mean" error
        steps = [only] if only else tag.order()
        refusals = _git_guards(registry, repo, tag)
        frozen, freeze_refusals = _freeze_guards(registry, tag)
        refusals += freeze_refusals
        if refusals and not test:
            raise refusals[0][1]
        overridden = [f"{kind}: {error.message}" for kind, error in refusals]
        options = backend.submission_options(tag, test, dict(options or {}))
        if options.get("via") == "prun" and len(steps) != 1:
            raise ShrekError(
                "the prun path submits one step",
                f"name the step: shrek submit {tag.label}/STEP --via prun",
                ExitCode.USAGE,
            )
        plans = _plan(registry, backend, tag, steps, test, frozen, options)
        _check_duplicates(tag, steps, test, again)
        run_id = _run_id(backend)
        render_dir = registry.state_dir / "runs" / run_id / "render"
        options_ = Options(
            first_sequence={p.step: p.first_sequence for p in plans},
            scope=options.get("scope") or default_scope(registry),
            upstream={
                k: v
                for p in plans
                for k, v in p.inputs.items()
                if tag.producer(next(i for i in tag.steps[p.step].inputs if i.dataset == k))
                is not None
            },
        )
        rendering = render(registry, tag, steps, options_, frozen["digest"] if frozen else None)
        rendering.write(render_dir)
        submission = Submission(
            registry, tag, plans, rendering, render_dir, run_id, test, workers, options
        )
        backend.check(submission)  # the backend's verdict first: a refusal leaves no record
        details = backend.details(submission)
        records = [
            _new_record(tag, p, backend, submission, frozen, overridden, again, repo, steps)
            for p in plans
        ]
        for record in records:
            if details.get(record.step):
                record.data["backend_details"] = details[record.step]
        for record in records:
            record.save()
        journal = repo.commit(
            [r.path for r in records] + [write_readme(registry, tag.name)],
            _message("journal", tag, records, backend.name, run_id),
        )
        fault_point("after-journal")
        try:
            ids = backend.submit(submission)
        except ShrekError as error:
            uncertain = type(error).__name__ == "Uncertain"
            for record in records:
                if uncertain:  # it may have got there: stay journalled, reconcile later
                    record.set_state(
                        "submitting",
                        f"no clear answer from {backend.name}: {error.message.splitlines()[0]}",
                    )
                else:
                    record.set_state("failed", f"the backend refused: {error.message}")
                record.save()
            repo.commit(
                [r.path for r in records] + [write_readme(registry, tag.name)],
                _message("refused", tag, records, backend.name, run_id),
            )
            raise
        fault_point("after-backend")
        for record in records:
            given = dict(ids.get(record.step, {}))
            extra = {k: given.pop(k) for k in ("log", "sandbox") if k in given}
            record.data["ids"].update(given)
            if extra:
                record.data.setdefault("backend_details", {}).update(
                    {"server_log" if k == "log" else k: v for k, v in extra.items()}
                )
            record.set_state("submitted", f"accepted by {backend.name}")
            record.save()
        commit = repo.commit(
            [r.path for r in records] + [write_readme(registry, tag.name)],
            _message("submit", tag, records, backend.name, run_id),
        )
    result = SubmitResult(tag.name, records, run_id, journal, commit, overridden=overridden)
    if detach or wait is None or not backend.follows:
        return result
    result.followed = True
    try:
        wait(submission, records)
    finally:
        with registry.lock(f"shrek submit {target} (final states)"):
            refreshed = refresh(registry, name, repo=repo)
        result.final_commit = refreshed.commit
        by_path = {r.path: r for r in refreshed.records}
        result.records = [by_path.get(r.path, r) for r in records]
    return result


def fault_point(name: str) -> None:
    """Crash here, for real, when ``SHREK_FAULT_POINT`` names this point.

    The tests use it to kill a submission between journal and backend call, and between
    backend call and record, and check that the next command reconciles the registry.
    """
    if os.environ.get("SHREK_FAULT_POINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _run_id(backend: Backend) -> str:
    if backend.name == "local":
        from shrek.backends.local import new_run_id

        return new_run_id()
    return f"{backend.name}-{os.urandom(4).hex()}"


def _message(kind: str, tag: Tag, records: list[Record], backend: str, run_id: str) -> str:
    steps = ", ".join(f"{r.step} #{r.number:04d}" for r in records)
    test = " [TEST]" if records and records[0].test else ""
    verb = {
        "journal": "journal submission of",
        "submit": "submit",
        "refused": "submission refused for",
    }[kind]
    return f"shrek: {verb} {tag.name}: {steps} ({backend} {run_id}){test}"
