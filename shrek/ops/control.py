"""``shrek kill`` and ``shrek retry``: act on recorded submissions through their backend.

Each action is appended to the record's history and committed, so the registry says what was
done to a production, by whom (the commit's author) and when.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shrek.backends.factory import get_backend
from shrek.core.model import load_tag
from shrek.core.records import ACTIVE, Record, load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.ops import remote
from shrek.ops.readme import write_readme
from shrek.ops.status import refresh_record


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


def kill(registry: Registry, target: str) -> list[str]:
    name, step = registry.split_target(target)
    registry, repo = where_records_live(
        registry, name, step, lambda r: not r.test and r.state in ACTIVE
    )
    lines, changed = [], []
    with registry.lock(f"shrek kill {target}"):
        active = [r for r in load_records(registry.tag_dir(name), step) if r.state in ACTIVE]
        if not active:
            raise ShrekError(
                f"{target} has no active submission",
                "'shrek status' shows the submissions",
                ExitCode.NOT_FOUND,
            )
        for record in active:
            backend = get_backend(registry, record.backend)
            note = backend.kill(registry, record.data)
            refresh_record(registry, record)
            if backend.kills_at_once and record.state in (*ACTIVE, "submitting"):
                record.set_state("killed", note)
            else:  # PanDA aborts later: 'shrek status' records 'killed' when it has
                record.set_state(record.state, note)
            record.save()
            changed.append(record)
            lines.append(f"{record.label}: {record.state} ({note})")
        repo.commit(
            [r.path for r in changed] + [write_readme(registry, name)],
            f"shrek: kill {name}: " + ", ".join(f"{r.step} #{r.number:04d}" for r in changed),
            publish=True,
        )
        remote.publish_commits(registry, repo)
    return lines


def retry(registry: Registry, target: str, overrides: dict[str, Any] | None = None) -> str:
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
        if record.state not in ("finished", "failed", "killed"):
            raise ShrekError(
                f"{record.label} is {record.state}; only finished, failed or "
                "killed submissions are retried",
                "'shrek status' shows it",
                ExitCode.USAGE,
            )
        note = get_backend(registry, record.backend).retry(registry, record.data, overrides or {})
        record.set_state("running", f"retry: {note}")
        record.save()
        repo.commit(
            [record.path, write_readme(registry, name)],
            f"shrek: retry {name}: {step} #{record.number:04d} ({note})",
            publish=True,
        )
        remote.publish_commits(registry, repo)
    return f"{record.label}: {note}; follow it with 'shrek status {name}'"


def _refuse_unknown_step(registry: Registry, name: str, step: str) -> None:
    """A step the tag does not have is named as such (not 'submit it')."""
    import difflib

    tag, _ = load_tag(registry, name)
    if tag is None or step in tag.steps:
        return
    close = difflib.get_close_matches(step, list(tag.steps), n=1)
    raise ShrekError(
        f"tag {name} has no step '{step}' (its steps: {', '.join(tag.order())})",
        f"did you mean {name.partition('-')[0]}/{close[0]}?" if close else "name one of its steps",
        ExitCode.NOT_FOUND,
    )
