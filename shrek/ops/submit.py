"""``shrek submit``: the guarded hand-over of a frozen tag to a backend, recorded in git.

A pipeline over one :class:`SubmitRequest`, in an order that makes it safe to interrupt:

1. **guards**, under the registry lock: reconcile the tag's unfinished records with their
   backends, then validation; and, unless ``--test``: a clean tree, HEAD on the remote, a
   freeze, no drift; then upstream datasets and duplicates — each refusal its own exit code;
2. **plan**: number the submissions, name the datasets, reserve sequence numbers, render into
   the run directory, and ask the backend whether it would accept (a refusal leaves nothing);
3. **journal**: write every record in state ``submitting`` and commit it;
4. **hand-over**: call the backend, then commit the records with what it accepted;
5. **follow** (not detached): wait, showing progress, and commit the final states.

An interruption before 3 leaves nothing; after 3 a journalled record that the next ``submit``
or ``status`` reconciles (completed if the backend has it, ``abandoned`` if not).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shrek import __version__
from shrek.backends import Submission, Uncertain
from shrek.backends.factory import get_backend
from shrek.core.allocations import record_allocations
from shrek.core.records import Record, now, submission_id
from shrek.core.registry import Registry
from shrek.core.render import Options
from shrek.core.submission import SubmissionData
from shrek.core.validate import require_valid
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.interrupts import deferred_interrupt, fault_point, no_interrupt
from shrek.ops import remote
from shrek.ops.guards import freeze_guards, git_guards, refuse_superseded, steps_to_submit
from shrek.ops.plan import Cleared, SubmitRequest, plan_steps
from shrek.ops.readme import write_readme
from shrek.ops.render import render
from shrek.ops.status import refresh, refresh_on_production

if TYPE_CHECKING:
    from shrek.ops.watch import Watch

Wait = Callable[["Watch"], None]  # shows the polls (the CLI's progress bar) until the end

__all__ = ["SubmitRequest", "SubmitResult", "submit"]


class SubmitResult:
    """What a submit did: its records (their final states once followed) and its commits."""

    def __init__(  # noqa: PLR0913 - what the command reports, field by field
        self,
        registry: Registry,
        tag: str,
        records: list[Record],
        run_id: str,
        journal_commit: str,
        commit: str,
        overridden: list[str],
        skipped: list[str],  # steps of TAG already done
    ) -> None:
        self.registry = registry
        self.tag = tag
        self.records = records
        self.run_id = run_id
        self.journal_commit = journal_commit
        self.commit = commit
        self.overridden = overridden
        self.skipped = skipped
        self.final_commit: str | None = None
        self.followed = False


def submit(registry: Registry, request: SubmitRequest, *, wait: Wait | None = None) -> SubmitResult:
    """Submit ``TAG`` (every step, in dependency order) or ``TAG/STEP``; ``wait`` follows the
    jobs of a backend that runs them here (unless ``request.detach``)."""
    name, _ = registry.split_target(request.target)
    repo = GitRepo(registry.root)
    repo.check_identity()
    side = remote.shared(registry, repo)
    backend = get_backend(registry, request.backend, request.overrides)
    interrupted = False
    with registry.lock(f"shrek submit {request.target}"):
        for _attempt in range(remote.MAX_TRIES):
            try:
                if not request.test:  # the remote decides: up to date with it, or refused
                    remote.require_current(side)
                # reconcile what an interrupted command left; published with the journal
                history = refresh(registry, name, repo=repo, publish=False).records
                cleared = _clear(registry, repo, backend, request)
                cleared.history = history
                submission = _prepare(cleared)
                backend.check(submission)  # the backend's verdict first: a refusal leaves none
            except KeyboardInterrupt:
                raise ShrekError(
                    "interrupted before anything was sent to the backend: nothing was submitted",
                    "",
                    ExitCode.INTERRUPTED,
                ) from None
            try:
                with deferred_interrupt(HAND_OVER_NOTICE) as interrupt:
                    records, journal = _journal(cleared, submission)
                    if not _allocated(cleared, side, submission, journal):
                        continue  # another clone allocated first: plan again from its state
                    if interrupt.pending:  # a Ctrl-C before the backend was called: stop here
                        interrupt.clear()
                        _close_journal(cleared, submission, records, side)
                    commit = _hand_over(cleared, submission, records)
                    remote.publish(side)
            except KeyboardInterrupt:
                interrupted = True  # the backend has it and the records say so: now stop it
            break
        else:
            raise ShrekError(
                f"the remote '{side.remote}' kept taking the numbers this submission planned "
                f"({remote.MAX_TRIES} tries): nothing was sent to the backend",
                "submit again (other clones are submitting at a high rate)",
                ExitCode.REMOTE,
            )
    for note in side.notes:
        registry.notify(f"shrek: {note}")
    result = SubmitResult(
        registry,
        cleared.tag.name,
        records,
        submission.run_id,
        journal,
        commit,
        cleared.overridden,
        cleared.skipped,
    )
    if interrupted:
        _stop(cleared, result)
    if not (request.detach or wait is None or not backend.follows):
        try:
            _follow(cleared, submission, result, wait)
        except KeyboardInterrupt:
            raise ShrekError(
                f"interrupted: the jobs of run {result.run_id} were killed; the records say "
                f"so and are committed ({_states(result)})",
                f"submit again with --again, or retry the step (shrek retry {cleared.tag.label}"
                "/STEP)",
                ExitCode.INTERRUPTED,
            ) from None
    return result


HAND_OVER_NOTICE = (
    "shrek: Ctrl-C: stopping at the next safe point (the records must say what the backend has)"
)


def _allocated(cleared: Cleared, side: remote.Shared, submission: Submission, journal: str) -> bool:
    """Make the journal (the submission's numbers and names) final on the registry's remote
    before anything is sent: True when it is; False when another clone's allocation got there
    first — the journal is taken back, this clone catches up, and the caller plans again.

    A test submission is allocated on the remote when it can be (on the production branch, the
    remote reachable, no unpushed commit of the user's beneath it); otherwise it goes on
    offline, and its commits are published later."""
    if side.remote is None or not side.attached:
        return True
    if submission.test:
        if remote.position(side).users:
            side.notes.append("test submission kept local: your own commits are not pushed")
            return True
        try:
            won = remote.push_journal(side, journal)
        except ShrekError as error:
            if error.code != ExitCode.REMOTE:
                raise
            side.notes.append(f"test submission made offline: {error.message}")
            return True
    else:
        won = remote.push_journal(side, journal)
    if won:
        return True
    remote.take_back(side, journal)
    import shutil  # (with bz2 and lzma) only here, when another clone won the numbers

    shutil.rmtree(submission.render_dir.parent, ignore_errors=True)
    cleared.registry.notify(
        f"shrek: another clone allocated on {side.remote} first: planning again from its state"
    )
    return False


def _close_journal(
    cleared: Cleared, submission: Submission, records: list[Record], side: remote.Shared
) -> None:
    """Ctrl-C after the journal, before the backend was called: nothing was sent; the journal
    records are closed as ``abandoned`` (their numbers stay used) and committed."""
    for record in records:
        record.set_state("abandoned", "interrupted (Ctrl-C) before it was sent to the backend")
        record.save()
    _commit(cleared, records, "interrupted", submission.run_id)
    remote.publish(side)
    raise ShrekError(
        "interrupted before anything was sent to the backend: nothing was submitted; the "
        "journal is closed ('abandoned')",
        "",
        ExitCode.INTERRUPTED,
    )


def _stop(cleared: Cleared, result: SubmitResult) -> None:
    """Ctrl-C while the backend accepted the submission: a backend whose jobs run here is told
    to kill them and the final states are committed; PanDA's tasks go on, and the message says
    how to stop them."""
    registry, backend, tag = cleared.registry, cleared.backend, cleared.tag
    if not backend.follows:
        raise ShrekError(
            f"interrupted after {backend.name} accepted the submission (run {result.run_id}; "
            "its records are committed): its tasks go on",
            f"to stop them: shrek kill {tag.label}",
            ExitCode.INTERRUPTED,
        )
    with no_interrupt():  # killing and recording the kill is not interrupted in turn
        done = backend.kill(result.records[0].data)
        with registry.lock(f"shrek submit {cleared.request.target} (killed)"):
            refreshed = refresh_on_production(registry, tag.name)
    by_path = {r.path: r for r in refreshed.records}
    result.records = [by_path.get(r.path, r) for r in result.records]
    raise ShrekError(
        f"interrupted after {backend.name} accepted run {result.run_id}: {done}; the records "
        f"say so and are committed ({_states(result)})",
        f"submit again with --again, or retry the step (shrek retry {tag.label}/STEP)",
        ExitCode.INTERRUPTED,
    )


def _states(result: SubmitResult) -> str:
    return ", ".join(f"{r.label} {r.state}" for r in result.records)


# -- 1. guards ---------------------------------------------------------------------------------


def _clear(registry: Registry, repo: GitRepo, backend: Any, request: SubmitRequest) -> Cleared:
    """Every guard, in order; the first refusal that --test does not override is raised."""
    name, only = registry.split_target(request.target)
    tag = require_valid(
        registry,
        name,
        code=ExitCode.NOT_VALID,
        refusal="fails validation, so it cannot be submitted (not even with --test)",
    )
    if only is not None and only not in tag.steps:
        render(registry, tag, [only])  # raises the "no step ... did you mean" error
    refuse_superseded(tag, request.test)
    refusals = git_guards(registry, repo, tag)
    frozen, freeze_refusals = freeze_guards(registry, tag)
    refusals += freeze_refusals
    if refusals and not request.test:
        raise refusals[0][1]
    steps, skipped = steps_to_submit(tag, only, request.test, request.again)
    options = backend.submission_options(tag, request.test, dict(request.options))
    if options.get("via") == "prun" and len(steps) != 1:
        raise ShrekError(
            "the prun path submits one step",
            f"name the step: shrek submit {tag.label}/STEP --via prun",
            ExitCode.USAGE,
        )
    overridden = [f"{kind}: {error.message}" for kind, error in refusals]
    if request.more_jobs and only:  # shrek extend: this many jobs of the step, this time
        tag = tag.with_steps({**tag.steps, only: tag.steps[only]._replace(jobs=request.more_jobs)})
    return Cleared(
        registry, repo, backend, tag, steps, frozen, overridden, options, request, skipped
    )


# -- 2. plan and render ------------------------------------------------------------------------


def _prepare(cleared: Cleared) -> Submission:
    """Plan every step, refuse duplicates, and render into the run's directory."""
    registry, tag, request = cleared.registry, cleared.tag, cleared.request
    plans = plan_steps(cleared)
    run_id = cleared.backend.new_run_id()
    render_dir = registry.run_dir(run_id) / "render"
    options = Options(
        first_sequence={p.step: p.first_sequence for p in plans},
        scope=cleared.options.get("scope", ""),
        # "<step>.<output>" -> the dataset that submission reads it from
        upstream={
            declared: read
            for plan in plans
            for declared, read in plan.inputs.items()
            if tag.producer_of(declared)
        },
        code=tuple(cleared.frozen.get("code") or ()) if cleared.frozen else (),
    )
    digest = cleared.frozen["digest"] if cleared.frozen else None
    rendering = render(registry, tag, cleared.steps, options, digest)
    rendering.write(render_dir)
    return Submission(
        registry,
        tag,
        plans,
        rendering,
        render_dir,
        run_id,
        request.test,
        request.workers,
        cleared.options,
    )


# -- 3. journal --------------------------------------------------------------------------------


def _journal(cleared: Cleared, submission: Submission) -> tuple[list[Record], str]:
    """Write every record in state ``submitting`` and commit them before anything is sent."""
    details = cleared.backend.details(submission)
    head = cleared.repo.head()  # what every record was planned from
    records = [_new_record(cleared, submission, plan, head) for plan in submission.steps]
    for record in records:
        if details.get(record.step):
            record.data["backend_details"] = details[record.step]
        record.save()
    ledger = (  # production numbers only: a test's are kept by its records
        ()
        if submission.test
        else (record_allocations(cleared.registry, [r.data for r in records], submission.run_id),)
    )
    journal = _commit(cleared, records, "journal", submission.run_id, ledger)
    for record in records:  # saved with the backend's answer, in the next commit
        record.data["submitted"]["journal_commit"] = journal
    fault_point("after-journal")
    return records, journal


def _new_record(cleared: Cleared, submission: Submission, plan: Any, head: str) -> Record:
    """A step's record as journalled: built from the plan and the rendering in memory."""
    tag, backend, repo = cleared.tag, cleared.backend, cleared.repo
    rendering = submission.rendering
    data: SubmissionData = {
        "schema_version": 1,
        "id": submission_id(tag.name, plan.step, plan.number, submission.test),
        "tag": tag.name,
        "step": plan.step,
        "number": plan.number,
        "test": submission.test,
        "backend": {"name": backend.name, "version": backend.version()},
        "ids": dict(backend.journal_ids(submission)),
        "state": "submitting",
        "history": [
            {"at": now(), "state": "submitting", "note": "journalled before the backend is called"}
        ],
        "submitted": {
            "by": repo.user(),
            "at": now(),
            "registry_commit": head,
            "shrek_version": __version__,
        },
        "freeze_digest": cleared.frozen["digest"] if cleared.frozen else None,
        "datasets": {"inputs": plan.inputs, "outputs": plan.outputs},
        "commands": {
            **rendering.commands[plan.step],
            "wrapper": f"{plan.step}.sh",
            "wrapper_sha256": rendering.wrapper_sha256(plan.step),
            "manifest_digest": rendering.manifest_digest,
        },
        "sequences": {
            plan.step: {
                "first": plan.first_sequence,
                "last": plan.first_sequence + plan.reserved - 1,
            }
        },
        "requirements": dict(tag.steps[plan.step].requirements),
        "jobs": {"total": 0, "done": 0, "running": 0, "failed": 0, "pending": 0},
    }
    if len(cleared.steps) > 1:
        data["workflow"] = cleared.steps
    if cleared.overridden:
        data["overridden_guards"] = cleared.overridden
    if cleared.request.again:
        data["again"] = True
    if cleared.request.extends:
        data["extends"] = cleared.request.extends
    if plan.step in cleared.tainted:
        data["tainted_inputs"] = cleared.tainted[plan.step]
    if plan.step in cleared.reread:
        data["reread"] = cleared.reread[plan.step]
    return Record(plan.record_path, data)


# -- 4. hand-over ------------------------------------------------------------------------------


def _hand_over(cleared: Cleared, submission: Submission, records: list[Record]) -> str:
    """Call the backend and commit what it accepted; a refusal is recorded and re-raised."""
    backend = cleared.backend
    _write_origin(submission, records)
    fault_point("before-backend")
    try:
        accepted = backend.submit(submission)
    except ShrekError as error:
        for record in records:
            if isinstance(error, Uncertain):  # it may have got there: stay journalled
                first_line = error.message.splitlines()[0]
                record.set_state("submitting", f"no clear answer from {backend.name}: {first_line}")
            else:
                record.set_state("failed", f"the backend refused: {error.message}")
            record.save()
        _commit(cleared, records, "refused", submission.run_id)
        raise
    fault_point("after-backend")
    for record in records:
        step = accepted.get(record.step)
        if step is not None:
            record.data["ids"].update(step.ids)
            if step.details:
                record.data.setdefault("backend_details", {}).update(step.details)
        record.set_state("submitted", f"accepted by {backend.name}")
        record.save()
    try:
        return _commit(cleared, records, "submit", submission.run_id)
    except ShrekError as error:  # sent, recorded, not committed: never a reason to resubmit
        raise ShrekError(
            f"{error.message}\n{backend.name} accepted the submission (run {submission.run_id}) "
            "and its records are written, but not committed",
            f"{error.fix.removesuffix(', then re-run the command')}; then run 'shrek status "
            f"{cleared.tag.name}', which commits them (do not submit again: the jobs run)",
            error.code,
        ) from error


def _write_origin(submission: Submission, records: list[Record]) -> None:
    """Tell the jobs where they come from: the journal's commit and their submission ids go
    into the sandbox (the wrapper exports them and writes them into each provenance file),
    and into the records, which the next commit completes."""
    journal = records[0].data["submitted"]["journal_commit"]
    try:
        submission.rendering.write_origin(
            submission.render_dir, journal, {r.step: str(r.data["id"]) for r in records}
        )
    except OSError as exc:
        raise ShrekError(
            f"cannot write the jobs' origin file into {submission.render_dir}: {exc}",
            "free space or fix the permissions of the registry's .shrek directory; the journal "
            "is committed and the next 'shrek status' closes it, then submit again",
            ExitCode.FILESYSTEM,
        ) from exc


# -- 5. follow ---------------------------------------------------------------------------------


def _follow(cleared: Cleared, submission: Submission, result: SubmitResult, wait: Wait) -> None:
    """Wait for the jobs, then commit their final states (also after Ctrl-C)."""
    registry, target = cleared.registry, cleared.request.target
    result.followed = True
    try:
        from shrek.ops.watch import Watch  # polling: not for a detached submit

        wait(Watch(submission, result.records))
    finally:
        # a second Ctrl-C must not stop the final states from being recorded
        with no_interrupt(), registry.lock(f"shrek submit {target} (final states)"):
            refreshed = refresh_on_production(registry, cleared.tag.name)
        result.final_commit = refreshed.commit
        by_path = {r.path: r for r in refreshed.records}
        result.records = [by_path.get(r.path, r) for r in result.records]


# -- helpers -----------------------------------------------------------------------------------


def _commit(
    cleared: Cleared, records: list[Record], kind: str, run_id: str, also: tuple[Path, ...] = ()
) -> str:
    tag, backend = cleared.tag, cleared.backend.name
    steps = ", ".join(f"{r.step} #{r.number:04d}" for r in records)
    test = " [TEST]" if records and records[0].test else ""
    verb = {
        "journal": remote.JOURNAL_VERB,
        "submit": "submit",
        "refused": "submission refused for",
        "interrupted": "submission interrupted before it was sent:",
    }[kind]
    paths = [*(r.path for r in records), *also]
    if kind != "journal":  # the journal is the crash record, written before the backend is
        # called; the README follows one commit later, with the backend's answer
        current = {r.path: r for r in [*cleared.history, *records]}  # the tag's files now
        paths.append(write_readme(cleared.registry, tag.name, list(current.values())))
    return cleared.repo.commit(
        paths,
        f"shrek: {verb} {tag.name}: {steps} ({backend} {run_id}){test}",
        publish=True,
        tidy=kind != "journal",  # git's housekeeping once, after the commit that follows it
        new=kind == "journal",  # the records are new files then
    )
