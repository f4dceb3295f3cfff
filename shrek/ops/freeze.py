"""``shrek freeze`` and ``shrek verify``: pin everything a tag depends on, and prove it later.

The freeze file itself (what is pinned, the digest, how two freezes compare) is
:mod:`shrek.core.freeze`; this module takes the lock, opens the catalogue, writes and commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shrek import __version__
from shrek.catalogs.factory import open_catalog
from shrek.catalogs.frozen import FrozenListCatalog
from shrek.core.freeze import (
    DIGESTED,
    FREEZE_FILE,
    HEADER,
    Drift,
    compare,
    compute,
    read_freeze,
    sample,
)
from shrek.core.model import load_tag
from shrek.core.progress import Progress, no_progress
from shrek.core.registry import Registry
from shrek.core.validate import require_valid
from shrek.core.yamlio import dump_yaml, write_atomic
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.ops.readme import write_readme


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
        written = _write(registry.tag_dir(name), document, computed.lists)
        written.append(write_readme(registry, name))
        try:
            commit = repo.commit(
                written,
                f"shrek: freeze {name} ({computed.digest[:19]})\n\ndigest {computed.digest}",
            )
        except BaseException:
            for path in written[:-1]:  # the freeze files; the README is rewritten below
                path.unlink(missing_ok=True)
            write_readme(registry, name)
            raise
    return FreezeResult(name, computed.digest, True, commit)


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
    drifts = compare(registry, tag, frozen, computed)
    if not drifts and frozen["digest"] == computed.digest:
        return FreezeResult(name, computed.digest, False, None)
    raise ShrekError(
        f"tag {name} is frozen (digest {frozen['digest']}) and what it depends on changed "
        "since:\n  " + "\n  ".join(map(str, drifts or ["the freeze digest differs"])),
        f"a frozen tag is immutable: create a new tag from it with 'shrek tag new "
        f"--from {tag.label}' (or restore the frozen files from git)",
        ExitCode.CONFLICT,
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(tag_dir: Path, document: dict[str, Any], lists: dict[str, str]) -> list[Path]:
    written = []
    for relative, text in sorted(lists.items()):
        write_atomic(tag_dir / relative, text)
        written.append(tag_dir / relative)
    write_atomic(tag_dir / FREEZE_FILE, dump_yaml(document, HEADER))
    written.append(tag_dir / FREEZE_FILE)
    return written


@dataclass
class Verification:
    tag: str
    digest: str | None  # None: not frozen
    drifts: list[Drift]

    @property
    def ok(self) -> bool:
        return self.digest is not None and not self.drifts


def verify(
    registry: Registry,
    names: list[str] | None = None,
    *,
    progress: Progress = no_progress,
    skip_datasets: bool = False,
) -> list[Verification]:
    """Recompute each frozen tag's content and name every drift (all frozen tags by default).

    A tag named explicitly that is not frozen is reported as such (``digest`` None).
    """
    explicit = bool(names)
    selected = [registry.resolve(n) for n in names] if names else registry.tag_names()
    catalog = open_catalog(registry, allow_open=True)  # an open dataset's drift is still drift
    results = []
    for name in dict.fromkeys(selected):
        frozen, problems = read_freeze(registry, name)
        if problems:
            results.append(
                Verification(name, "damaged", [Drift(f.location, f.message) for f in problems])
            )
            continue
        if frozen is None:
            if explicit:
                results.append(Verification(name, None, []))
            continue
        tag, findings = load_tag(registry, name)
        if tag is None:
            results.append(
                Verification(
                    name, frozen["digest"], [Drift(f.location, f.message) for f in findings]
                )
            )
            continue
        try:
            source = FrozenListCatalog(tag.directory, frozen) if skip_datasets else catalog
            computed = compute(registry, tag, source, progress=progress)
        except ShrekError as error:
            results.append(Verification(name, frozen["digest"], [Drift(name, error.message)]))
            continue
        results.append(
            Verification(name, frozen["digest"], compare(registry, tag, frozen, computed))
        )
    return results
