"""``shrek kill`` and ``shrek retry``: act on recorded submissions through their backend.

Each action is appended to the record's history and committed, so the registry says what was
done to a production, by whom (the commit's author) and when.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shrek.backends.factory import get_backend
from shrek.core.model import load_tag
from shrek.core.records import ACTIVE, Record, load_records
from shrek.core.registry import Registry
from shrek.core.suggest import close_matches
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.ops import remote
from shrek.ops.readme import write_readme
from shrek.ops.status import refresh_record


@dataclass
class Acted:
    """What ``kill`` or ``retry`` did: each submission acted on, and the commit recording it."""

    commit: str
    submissions: list[dict[str, Any]] = field(default_factory=list)  # id, step, number, state, note

    def lines(self) -> list[str]:
        return [
            f"{s['step']} #{s['number']:04d}: {s['state']} ({s['note']})" for s in self.submissions
        ]


def _acted(record: Record, note: str) -> dict[str, Any]:
    return {
        "id": str(record.data["id"]),
        "step": record.step,
        "number": record.number,
        "state": record.state,
        "note": note,
    }


def where_records_live(
    registry: Registry, name: str, step: str | None, wanted: Callable[[Record], bool]
) -> tuple[Registry, GitRepo]:
    """Where ``kill`` and ``retry`` act: on the production branch itself (SHREK's own work
    tree of it when the user has another branch checked out) when the records they would act
    on are there, so production records never land on the user's branch; otherwise — a test
    submission of the checked-out branch — in the checkout."""
    view, side = remote.production_registry(registry)
    if view is registry:
        return registry, side.repo
    if view.tag_dir(name).is_dir() and any(
        wanted(r) for r in load_records(view.tag_dir(name), step)
    ):
        return view, side.repo
    return registry, GitRepo(registry.root)


def kill(registry: Registry, target: str) -> Acted:
    name, step = registry.split_target(target)
    registry, repo = where_records_live(
        registry, name, step, lambda r: not r.test and r.state in ACTIVE
    )
    acted, changed = [], []
    with registry.lock(f"shrek kill {target}"):
        active = [r for r in load_records(registry.tag_dir(name), step) if r.state in ACTIVE]
        if not active:
            raise ShrekError(
                f"{target} has no active submission: nothing to kill",
                f"'shrek status {name}' shows its submissions",
                ExitCode.NOTHING_TO_DO,
            )
        for record in active:
            backend = get_backend(registry, record.backend)
            note = backend.kill(record.data)
            refresh_record(registry, record)
            if backend.kills_at_once and record.state in (*ACTIVE, "submitting"):
                record.set_state("killed", note)
            else:  # PanDA aborts later: 'shrek status' records 'killed' when it has
                record.set_state(record.state, note)
            record.save()
            changed.append(record)
            acted.append(_acted(record, note))
        commit = repo.commit(
            [r.path for r in changed] + [write_readme(registry, name)],
            f"shrek: kill {name}: " + ", ".join(f"{r.step} #{r.number:04d}" for r in changed),
            publish=True,
        )
        remote.publish_commits(registry, repo)
    return Acted(commit, acted)


def retry(registry: Registry, target: str, overrides: dict[str, Any] | None = None) -> Acted:
    name, step = registry.split_target(target)
    if step is None:
        raise ShrekError("retry needs a step", f"shrek retry {target}/STEP", ExitCode.USAGE)
    registry, repo = where_records_live(registry, name, step, lambda r: not r.test)
    with registry.lock(f"shrek retry {target}"):
        records = load_records(registry.tag_dir(name), step)
        if not records:
            _refuse_unknown_step(registry, name, step)
            raise ShrekError(
                f"{name}/{step} has no submission",
                f"submit it: shrek submit {name}/{step}",
                ExitCode.NOT_FOUND,
            )
        record: Record = records[-1]
        if refresh_record(registry, record):  # what status would record, committed first:
            repo.commit(  # a retry refused below must not leave the record half-edited
                [record.path, write_readme(registry, name)],
                f"shrek: status {name}: {step} #{record.number:04d} {record.state}",
                publish=True,
            )
        if record.state not in ("partial", "failed", "killed"):
            _refuse_retry(record, name, step)
        note = get_backend(registry, record.backend).retry(record.data, overrides or {})
        record.set_state("running", f"retry: {note}")
        record.save()
        commit = repo.commit(
            [record.path, write_readme(registry, name)],
            f"shrek: retry {name}: {step} #{record.number:04d} ({note})",
            publish=True,
        )
        remote.publish_commits(registry, repo)
    return Acted(commit, [_acted(record, note)])


def _refuse_unknown_step(registry: Registry, name: str, step: str) -> None:
    """A step the tag does not have is named as such (not 'submit it')."""
    tag, _ = load_tag(registry, name)
    if tag is None or step in tag.steps:
        return
    close = close_matches(step, list(tag.steps), n=1)
    raise ShrekError(
        f"tag {name} has no step '{step}' (its steps: {', '.join(tag.order())})",
        f"did you mean {name.partition('-')[0]}/{close[0]}?" if close else "name one of its steps",
        ExitCode.NOT_FOUND,
    )


def _refuse_retry(record: Record, name: str, step: str) -> None:
    """A submission with no failed jobs to run again: what it is, and what leads on."""
    label, target = name.partition("-")[0], f"{name.partition('-')[0]}/{step}"
    if record.state == "done":
        raise ShrekError(
            f"{record.label} is done: every job succeeded, nothing to retry",
            f"for more jobs: shrek extend {target} --jobs N",
            ExitCode.NOTHING_TO_DO,
        )
    if record.state in ACTIVE:
        raise ShrekError(
            f"{record.label} is {record.state}: its jobs have not ended, nothing to retry yet",
            f"wait for it to end (shrek status {label}); a job that fails is retried by the "
            "backend up to the step's max_attempts",
            ExitCode.NOTHING_TO_DO,
        )
    raise ShrekError(  # cancelled or abandoned: no job of it ever ran, so none can be retried
        f"{record.label} is {record.state}: none of its jobs ran, so there is nothing to retry",
        f"submit the step again: shrek submit {target}",
        ExitCode.LIFECYCLE,
    )
