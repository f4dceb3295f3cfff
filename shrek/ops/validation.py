"""``shrek validate`` with a cache: a tag whose inputs did not change is not checked again.

Each tag's findings are kept in ``.shrek/cache/validate.json`` under a key that covers
everything its validation reads: for every file under the tag directory (its definitions,
``tag.yaml``, steps, ``freeze.yaml`` and frozen input lists, and its resources: a frozen tag's
resources are re-hashed only when the key changes) its size, inode, modification time *and
change time* — ``ctime``, which no tool can set back, so an edit that keeps the size and
restores the modification time (``cp -p``, ``touch -r``, ``tar x``, ``rsync -t --inplace``)
still changes the key (:mod:`shrek.core.cachekey`); the target of every symbolic link;
``shrek.yaml``; the label's ledger entry; the names of all tags (a ``parent`` must exist); the
SHREK version, its schemas and its own code (every module's size and modification time). A
file changed less than :data:`RACY_S` seconds ago is keyed by its content instead (git's
"racy clean" rule): its time stamps may not tick again for an edit in the same instant, on a
file system with coarse times. The ledger itself is checked on every run (one small file).

The cache is local working state (never committed); it is not written where the checkout is
read-only, and ``--no-cache`` ignores it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

from shrek.core.allocations import allocation_findings
from shrek.core.cachekey import code_fingerprint, is_racy, racy_bound, read_cache, signature
from shrek.core.layout import REGISTRY_FILE
from shrek.core.ledger import Entry, ledger_findings
from shrek.core.registry import Registry
from shrek.core.report import Report
from shrek.core.schema import fingerprint
from shrek.core.yamlio import special_file, write_atomic
from shrek.errors import Finding, sort_findings

CACHE_FILE = "cache/validate.json"
CACHE_VERSION = 4  # 2: YAML 1.2 core schema; 3: ctime, racy files, code; 4: stats only
IGNORED = ("README.md", "submissions")  # not read by validation


def validate(registry: Registry, names: Iterable[str] = (), *, use_cache: bool = True) -> Report:
    """``shrek validate``: from the cache where it may answer, else every check again."""
    if not use_cache:
        from shrek.core.validate import validate as validate_all

        return validate_all(registry, list(names), keep_tags=False)
    return validate_cached(registry, names)


def export_schemas(directory: Path) -> list[Path]:
    """``shrek schema export``: every JSON Schema SHREK reads or writes, for editors and tools."""
    from shrek.core.schema import export

    return export(directory)


def validate_cached(registry: Registry, names: Iterable[str] = ()) -> Report:
    """Like :func:`shrek.core.validate.validate`, answering unchanged tags from the cache."""
    selected = list(dict.fromkeys([registry.resolve(n) for n in names] or registry.tag_names()))
    findings, by_label = ledger_findings(registry)
    findings += allocation_findings(registry.root, {n: registry.tag_dir(n) for n in selected})
    path = registry.state_dir / CACHE_FILE
    cached = _read(path)
    context = _context(registry)
    fresh: dict[str, dict] = {}
    racy = racy_bound()
    for name in selected:
        key = _tag_key(registry, name, by_label, context, racy)
        found = _kept(cached.get(name), key)
        if found is None:
            from shrek.core.validate import tag_findings  # only a changed tag needs the checks

            _, found = tag_findings(registry, name, by_label)
        fresh[name] = {"key": key, "findings": [f.as_dict() for f in found]}
        findings.extend(found)
    if any(cached.get(n) != entry for n, entry in fresh.items()):
        _write(path, {**cached, **fresh})
    return Report(selected, sort_findings(findings), {})


def _kept(hit: Any, key: str) -> list[Finding] | None:
    """The findings a cache entry kept under this key; None when it holds none (another key,
    or an entry a damaged cache file holds: read afresh, never trusted)."""
    if not isinstance(hit, dict) or hit.get("key") != key:
        return None
    try:
        return [Finding(**f) for f in hit["findings"]]
    except (KeyError, TypeError):
        return None


def _context(registry: Registry) -> str:
    """What every tag's validation depends on beyond its own directory."""
    digest = hashlib.sha256(fingerprint().encode())
    digest.update(code_fingerprint().encode())
    digest.update((registry.root / REGISTRY_FILE).read_bytes())
    digest.update("\0".join(registry.tag_names()).encode())
    return digest.hexdigest()


def _tag_key(
    registry: Registry, name: str, by_label: dict[str, Entry], context: str, racy: int
) -> str:
    """Everything the tag's validation reads beyond ``context``, as one digest (the parts are
    joined and hashed once: this runs for every tag on each ``validate``)."""
    entry = by_label.get(name.partition("-")[0])
    parts = [context, f"ledger {entry.label if entry else ''} {entry.tag if entry else ''}"]
    for relative, item in _walk(str(registry.tag_dir(name))):
        if item.is_symlink():
            parts.append(f"{relative}\0-> {os.readlink(item.path)}")
            continue
        info = item.stat()
        special = special_file(info.st_mode)  # a FIFO or a device is never opened
        if not special and is_racy(info, racy):
            with open(item.path, "rb") as handle:
                parts.append(f"{relative}\0{hashlib.sha256(handle.read()).hexdigest()}")
        else:
            parts.append(f"{relative}\0{signature(info)}")
    return hashlib.sha256("\0\0".join(parts).encode()).hexdigest()


def _walk(root: str) -> list[tuple[str, os.DirEntry[str]]]:
    """Every file and link under the tag directory that validation may read, sorted by its
    path relative to the tag (plain strings and ``os.scandir``: this runs for every file of
    every tag on each ``validate``)."""
    found: list[tuple[str, os.DirEntry[str]]] = []
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if not prefix and entry.name in IGNORED:
                continue
            relative = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                pending.append((entry.path, relative + "/"))
            else:
                found.append((relative, entry))
    found.sort(key=_first)
    return found


def _first(pair: tuple[str, os.DirEntry[str]]) -> str:
    return pair[0]


def _read(path: Path) -> dict[str, dict]:
    tags = read_cache(path, CACHE_VERSION).get("tags")
    return tags if isinstance(tags, dict) else {}


def _write(path: Path, tags: dict[str, dict]) -> None:
    # a read-only checkout: validation still answers, just without remembering
    with suppress(OSError):
        write_atomic(path, json.dumps({"version": CACHE_VERSION, "tags": tags}))
