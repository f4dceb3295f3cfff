"""``shrek status``: refresh submission records from their backends and commit what changed.

Also the reconciliation step every submission runs first: a record left in ``submitting`` by
an interrupted command is looked up in its backend and either completed (the backend has it) or
marked ``abandoned`` (it never got there), so nothing is lost and nothing is submitted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from shrek.backends import Backend
from shrek.backends.factory import get_backend
from shrek.catalogs.factory import open_catalog
from shrek.core.allocations import ALLOCATIONS_FILE
from shrek.core.layout import SUBMISSIONS_DIR
from shrek.core.lifecycle import read_events
from shrek.core.model import load_tag
from shrek.core.records import ACTIVE, Record, load_records
from shrek.core.registry import Registry
from shrek.core.taint import registry_taints
from shrek.errors import ShrekError
from shrek.ops import remote
from shrek.ops.readme import write_readme

if TYPE_CHECKING:
    from shrek.git import GitRepo


class Refreshed:
    """A tag's records after a refresh: all of them, those that changed, and the commit."""

    __slots__ = ("changed", "commit", "records", "tag")

    def __init__(
        self,
        tag: str,
        records: list[Record],
        changed: list[Record] | None = None,
        commit: str | None = None,
    ) -> None:
        self.tag = tag
        self.records = records
        self.changed: list[Record] = changed if changed is not None else []
        self.commit = commit


def refresh_record(
    registry: Registry, record: Record, *, save: bool = True, backend: Backend | None = None
) -> bool:
    """Bring one record up to date from its backend; True when it changed (saved only when
    ``save``: 'status --no-commit' only looks)."""
    backend = backend or get_backend(registry, record.backend)
    update = backend.refresh(record.data)
    changed = False
    if update.jobs and update.jobs != record.data.get("jobs"):
        record.data["jobs"] = update.jobs
        changed = True
    for key, value in update.ids.items():
        if record.data["ids"].get(key) != value:
            record.data["ids"][key] = value
            changed = True
    if update.failures != record.data.get("failures", []):
        if update.failures:
            record.data["failures"] = update.failures
        else:
            record.data.pop("failures", None)
        changed = True
    if update.details:
        details = {**record.data.get("backend_details", {}), **update.details}
        if details != record.data.get("backend_details"):
            record.data["backend_details"] = details
            changed = True
    if update.state != record.state or update.note:
        changed = record.set_state(update.state, update.note) or changed
    if save:
        changed = backend.settle(record) or changed  # e.g. outputs published to Rucio
    if changed and save:
        record.save()
    return changed


def refresh(
    registry: Registry,
    name: str,
    *,
    commit: bool = True,
    everything: bool = False,
    repo: GitRepo | None = None,
    which: Callable[[Record], bool] = lambda _record: True,
    publish: bool = True,
) -> Refreshed:
    """Refresh the tag's active records (all of them with ``everything``; only those ``which``
    selects), commit the changes, and publish them to the registry's remote (unless
    ``publish`` is False: ``submit`` publishes them with its journal)."""
    if commit and publish:  # what an interrupted command left unpublished goes first
        remote.publish_commits(registry, repo)
    tag_dir = registry.tag_dir(name)
    result = Refreshed(name, [r for r in load_records(tag_dir) if which(r)])
    backends: dict[str, Backend] = {}
    wanted = []
    for record in result.records:
        backend = backends.get(record.backend) or get_backend(registry, record.backend)
        backends[record.backend] = backend
        if record.state in ACTIVE or everything or backend.needs_attention(record):
            wanted.append(record)
    for backend_name, backend in backends.items():
        mine = [r.data for r in wanted if r.backend == backend_name]
        if mine:
            backend.prefetch(mine)  # one call for all of a backend's records
    for record in wanted:
        if refresh_record(registry, record, save=commit, backend=backends[record.backend]):
            result.changed.append(record)
    if not commit:
        return result
    from shrek.git import GitRepo

    repo = repo or GitRepo(registry.root)
    # SHREK's own records left uncommitted by a refused or interrupted commit: committed now
    changed = {r.path for r in result.changed}
    dirty = _uncommitted(repo, tag_dir)
    left = [
        r for r in result.records if r.path not in changed and dirty and r.path.resolve() in dirty
    ]
    ledger = registry.root / ALLOCATIONS_FILE
    also = [ledger] if ledger.resolve() in dirty else []
    if result.changed or left or also:
        summary = ", ".join(f"{r.step} #{r.number:04d} {r.state}" for r in result.changed)
        if left:
            summary += (
                ("; " if summary else "")
                + "recorded "
                + ", ".join(f"{r.step} #{r.number:04d} {r.state}" for r in left)
            )
        summary = summary or f"recorded {ALLOCATIONS_FILE}"
        result.commit = repo.commit(
            [r.path for r in result.changed + left] + also + [write_readme(registry, name)],
            f"shrek: status {name}: {summary}",
            publish=True,
        )
        if publish:
            remote.publish_commits(registry, repo)
    return result


def _uncommitted(repo: GitRepo, tag_dir: Path) -> set[Path]:
    """The tag's record files and the submission ledger where they differ from HEAD or are
    untracked (one git status)."""
    submissions = tag_dir / SUBMISSIONS_DIR
    if not submissions.is_dir():
        return set()
    ledger = tag_dir.parent.parent / ALLOCATIONS_FILE
    return {(repo.root / p).resolve() for p in repo.dirty_paths([submissions, ledger])}


def status_rows(registry: Registry, names: list[str], *, commit: bool = True) -> list[dict]:
    """Refresh the tags' records and describe every one of them (the rows of ``shrek status``
    and its ``--json``): steps in the order of the tag's DAG, then by number. ``commit=False``
    only looks: it takes no lock and writes nothing, so it works in a read-only checkout."""
    rows = []
    taints = registry_taints(registry.tags_dir)
    with registry.lock("shrek status") if commit else nullcontext():
        if commit:  # once for the command, not once per tag: what an earlier command left
            remote.publish_commits(registry)
        for name in names:
            records = refresh_on_production(registry, name, commit=commit, publish=False).records
            lifecycle = read_events(registry.tag_dir(name))
            invalid = lifecycle.invalid_submissions
            rows += [
                {
                    **_row(registry, name, r, invalid),
                    "tainted": taints.of_record(r),
                    "superseded_by": lifecycle.superseded_by,
                }
                for r in _in_dag_order(registry, name, records)
            ]
        if commit:
            remote.publish_commits(registry)
    add_sizes(registry, rows)
    return rows


def refresh_on_production(
    registry: Registry, name: str, *, commit: bool = True, publish: bool = True
) -> Refreshed:
    """:func:`refresh`, with production records always committed to the production branch.

    Outside it (the user switched branches, even while a submission ran), production records
    that still change are refreshed and committed on the production branch itself (SHREK's own
    work tree of it), never on the branch the user has checked out; the checkout's test
    records are refreshed where they are."""
    if commit and not remote.shared(registry).attached:
        view, side = remote.production_registry(registry)
        if view is not registry and view.tag_dir(name).is_dir():
            there = load_records(view.tag_dir(name))
            if any(not r.test and r.state in ACTIVE for r in there):
                production = refresh(
                    view, name, repo=side.repo, which=lambda r: not r.test, publish=publish
                )
                tests = refresh(registry, name, which=lambda r: r.test, publish=publish)
                return Refreshed(
                    name,
                    production.records + tests.records,
                    production.changed + tests.changed,
                    production.commit or tests.commit,
                )
    return refresh(registry, name, commit=commit, publish=publish)


def failed_jobs(registry: Registry, names: list[str]) -> list[dict]:
    """Every failed job of the tags' records, one row each ('shrek status --failed'): from the
    backend where it knows each job, otherwise from the record's grouped failures."""
    rows = []
    for name in names:
        for record in _in_dag_order(registry, name, load_records(registry.tag_dir(name))):
            base = {"tag": name, "step": record.step, "number": record.number}
            backend = get_backend(registry, record.backend)
            failed = backend.failed_jobs(record.data)
            if failed is not None:
                rows += [
                    {**base, "seq": f.seq, "attempts": f.attempts, "reason": f.reason, "log": f.log}
                    for f in failed
                ]
                continue
            for group in record.data.get("failures", []):
                rows += [
                    {
                        **base,
                        "seq": seq,
                        "attempts": group.get("attempts", 0),
                        "reason": group["reason"],
                        "log": "",
                    }
                    for seq in group["jobs"]
                ]
    return rows


def _in_dag_order(registry: Registry, name: str, records: list[Record]) -> list[Record]:
    tag, _ = load_tag(registry, name)
    order = {step: n for n, step in enumerate(tag.order())} if tag is not None else {}
    return sorted(records, key=lambda r: (order.get(r.step, len(order)), r.step, r.number))


def _row(registry: Registry, name: str, record: Record, invalid: dict[str, str]) -> dict:
    data = record.data
    jobs = data.get("jobs", {})
    state = record.state
    if state in ("submitted", "running") and not jobs.get("total"):
        state = "starting"  # accepted, no job known yet
    used = (data.get("sequences") or {}).get(record.step)
    return {
        "tag": name,
        "step": record.step,
        "number": record.number,
        "test": record.test,
        "backend": record.backend,
        "state": state,
        "jobs": jobs,
        "sequences": {"first": used["first"], "last": used["last"]} if used else None,
        "ids": data.get("ids", {}),
        "outputs": {
            output: {"dataset": dataset, "files": None, "bytes": None}
            for output, dataset in data["datasets"]["outputs"].items()
        },
        "failures": data.get("failures", []),
        "record": registry.relative(record.path),
        "invalid": invalid.get(str(data.get("id")), ""),
        "extends": data.get("extends", ""),
    }


def add_sizes(registry: Registry, rows: list[dict]) -> None:
    """Files and bytes of every output dataset of ``rows`` (each a submission whose
    ``outputs`` are ``{dataset, files, bytes}``), from the catalogue in one batch (left unknown
    when the catalogue cannot be reached: status and tag show still answer)."""
    names = [o["dataset"] for row in rows for o in row["outputs"].values()]
    if not names:
        return
    try:
        infos = open_catalog(registry).infos(names)
    except ShrekError:
        return
    for row in rows:
        for output in row["outputs"].values():
            info = infos.get(output["dataset"])
            if info is not None:
                output["files"], output["bytes"] = info.files, info.bytes
