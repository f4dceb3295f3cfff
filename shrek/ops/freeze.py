"""``shrek freeze`` and ``shrek verify``: pin everything a tag depends on, and prove it later.

The freeze file itself (what is pinned, the digest, how two freezes compare) is
:mod:`shrek.core.freeze`; this module takes the lock, opens the catalogue, writes and commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shrek import __version__
from shrek.catalogs.factory import frozen_lists, open_catalog
from shrek.core.freeze import DIGESTED, HEADER, Drift, compare, compute, read_freeze, sample
from shrek.core.layout import FREEZE_FILE
from shrek.core.model import load_tag
from shrek.core.progress import Progress, no_progress
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.core.validate import require_valid
from shrek.core.yamlio import dump_yaml, write_atomic
from shrek.errors import ExitCode, Finding, ShrekError
from shrek.git import GitRepo
from shrek.ops.history import (
    freeze_findings,
    hand_edit_findings,
    history_findings,
    team_findings,
)
from shrek.ops.pending import change, settle
from shrek.ops.readme import README, write_readme


@dataclass(frozen=True)
class FreezeResult:
    tag: str
    digest: str
    changed: bool  # False when the tag was already frozen with identical content
    commit: str | None


def freeze(
    registry: Registry,
    name: str,
    *,
    progress: Progress = no_progress,
    allow_open: bool = False,
) -> FreezeResult:
    """Freeze tag ``name``: validate, compute, write freeze.yaml and input lists, commit."""
    name = registry.resolve(name)
    repo = GitRepo(registry.root)
    repo.check_identity()
    with registry.lock(f"shrek freeze {name}"):
        settle(registry, repo)  # a freeze stopped before its commit is undone, not "frozen"
        frozen, problems = read_freeze(registry, name)
        if problems:
            raise ShrekError(
                f"tags/{name}/{FREEZE_FILE} is damaged",
                "restore it from git",
                ExitCode.INVALID,
                problems,
            )
        if frozen is not None:
            return _refreeze(registry, name, frozen, progress=progress)
        tag = require_valid(registry, name)
        dirty = repo.dirty_paths([registry.tag_dir(name), registry.root / "shrek.yaml"])
        if dirty:
            raise ShrekError(
                f"tag {name} has uncommitted changes: {sample(dirty, 5)}",
                "commit them (the freeze records the commit it was made from), then re-run",
                ExitCode.GIT,
            )
        computed = compute(
            registry, tag, open_catalog(registry, allow_open=allow_open), progress=progress
        )
        _refuse_a_new_freeze_of_a_submitted_tag(registry, name, computed.digest)
        document = {
            "schema_version": 1,
            "tag": name,
            "digest": computed.digest,
            "frozen": {
                "by": repo.user(),
                "at": _now(),
                "registry_commit": repo.head(),
                "shrek_version": __version__,
            },
            **{k: computed.content[k] for k in DIGESTED if k != "tag"},
        }
        tag_dir = registry.tag_dir(name)
        with change(registry, repo, f"shrek freeze {name}") as pending:
            pending.touches(
                *(tag_dir / relative for relative in sorted(computed.lists)),
                tag_dir / FREEZE_FILE,
                tag_dir / README,
            )
            _write(tag_dir, document, computed.lists)
            write_readme(registry, name)
            commit = pending.commit(
                f"shrek: freeze {name} ({computed.digest[:19]})\n\ndigest {computed.digest}"
            )
    return FreezeResult(name, computed.digest, True, commit)


def _refuse_a_new_freeze_of_a_submitted_tag(registry: Registry, name: str, digest: str) -> None:
    """A tag whose freeze.yaml is gone but whose submissions recorded another digest was
    submitted as something else: freezing it afresh would let its records point at content
    that never ran. (The same digest is the same content: the freeze is simply restored.)"""
    for record in load_records(registry.tag_dir(name)):
        recorded = record.data.get("freeze_digest")
        if recorded and recorded != digest:
            raise ShrekError(
                f"tag {name} has no freeze.yaml, but {record.label} was submitted with freeze "
                f"digest {recorded}; its content now gives {digest}",
                f"restore the freeze from git (git checkout HEAD -- tags/{name}/{FREEZE_FILE}); "
                f"to change the production, create a new tag: shrek tag new --from {name}",
                ExitCode.CONFLICT,
            )


def _refreeze(
    registry: Registry, name: str, frozen: dict[str, Any], *, progress: Progress
) -> FreezeResult:
    """Freezing a frozen tag again: a no-op when nothing changed, otherwise refused."""
    tag, findings = load_tag(registry, name)
    if tag is None:
        raise ShrekError(
            f"tag {name} no longer loads", "restore its files from git", ExitCode.INVALID, findings
        )
    computed = compute(registry, tag, open_catalog(registry, allow_open=True), progress=progress)
    drifts = compare(tag, frozen, computed)
    if not drifts and frozen["digest"] == computed.digest:
        return FreezeResult(name, computed.digest, False, None)
    raise ShrekError(
        f"tag {name} is frozen (digest {frozen['digest']}) and what it depends on changed "
        "since:\n  " + "\n  ".join([str(d) for d in drifts] or ["the freeze digest differs"]),
        f"a frozen tag is immutable: create a new tag from it with 'shrek tag new "
        f"--from {tag.label}' (or restore the frozen files from git)",
        ExitCode.CONFLICT,
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(tag_dir: Path, document: dict[str, Any], lists: dict[str, str]) -> None:
    for relative, text in sorted(lists.items()):
        write_atomic(tag_dir / relative, text)
    write_atomic(tag_dir / FREEZE_FILE, dump_yaml(document, HEADER))


@dataclass
class Verification:
    tag: str
    digest: str | None  # None: not frozen
    drifts: list[Drift]
    history: list[Finding] = field(default_factory=list)  # its ledger lines and records

    @property
    def ok(self) -> bool:
        return self.digest is not None and not self.drifts and not self.history


def verify(
    registry: Registry,
    names: list[str] | None = None,
    *,
    progress: Progress = no_progress,
    skip_datasets: bool = False,
) -> list[Verification]:
    """Recompute each frozen tag's content and name every drift (all frozen tags by default),
    and check the append-only files against git history (:mod:`shrek.ops.history`).

    A tag named explicitly that is not frozen is reported as such (``digest`` None). A tag
    whose ledger lines or records were damaged is reported with them, frozen or not — also
    one whose directory is gone.
    """
    explicit = bool(names)
    selected = [registry.resolve(n) for n in names] if names else registry.tag_names()
    catalog = open_catalog(registry, allow_open=True)  # an open dataset's drift is still drift
    history = history_findings(registry)
    for more in (team_findings(registry), freeze_findings(registry), hand_edit_findings(registry)):
        for name, findings in more.items():
            history.setdefault(name, []).extend(findings)
    if not explicit:  # a tag whose directory is gone is reported by its damaged history
        selected += sorted(set(history) - set(selected))
    results = []
    for name in dict.fromkeys(selected):
        result = _verify_tag(registry, name, catalog, skip_datasets, progress)
        if result is None and (explicit or history.get(name)):
            result = Verification(name, None, [])
        if result is not None:
            result.history = history.get(name, [])
            results.append(result)
    return results


def _verify_tag(
    registry: Registry, name: str, catalog: Any, skip_datasets: bool, progress: Progress
) -> Verification | None:
    """One tag against its freeze; None when it is not frozen (or its directory is gone)."""
    if not registry.tag_dir(name).is_dir():
        return None
    frozen, problems = read_freeze(registry, name)
    if problems:
        return Verification(name, "damaged", [Drift(f.location, f.message) for f in problems])
    if frozen is None:
        return None
    tag, findings = load_tag(registry, name)
    if tag is None:
        return Verification(
            name, frozen["digest"], [Drift(f.location, f.message) for f in findings]
        )
    try:
        source = frozen_lists(tag.directory, frozen) if skip_datasets else catalog
        computed = compute(registry, tag, source, progress=progress)
    except ShrekError as error:
        return Verification(name, frozen["digest"], [Drift(name, error.message)])
    return Verification(name, frozen["digest"], compare(tag, frozen, computed))
