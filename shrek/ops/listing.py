"""``shrek tag list`` answered from a cache that cannot lie.

Each row (label, build, title, steps, state, invalid submissions) depends only on files of the
tag's own directory: ``tag.yaml``, ``freeze.yaml``, the names of the step files, the records
under ``submissions/`` and the events under ``lifecycle/``. The row is kept in
``.shrek/cache/listing.json`` under a key of those files' stats (:mod:`shrek.core.cachekey`:
size, inode, modification and change time) and the directories' entries, so any edit — a
record a ``status`` rewrote, a pulled event, a step file added, a ``tag.yaml`` whose mtime an
editor put back — changes the key; a tag with a racy time stamp is read afresh and not kept;
the whole cache belongs to one SHREK code. Taints cross tags (a submission reads another tag's
outputs), so they are counted afresh on every run, from the registry's events (no event: no
record is read).

The cache is this machine's working state; a read-only checkout lists without remembering.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeGuard

from shrek.core.cachekey import code_fingerprint, is_racy, racy_bound, read_cache, signature
from shrek.core.layout import TAG_FILE
from shrek.core.registry import Registry
from shrek.core.yamlio import write_atomic

CACHE_FILE = "cache/listing.json"
CACHE_VERSION = 1


def listing(registry: Registry) -> list[dict[str, Any]]:
    """One row per tag, in label order: from the cache where its key still holds."""
    path = registry.state_dir / CACHE_FILE
    context = code_fingerprint()
    cached = _read(path, context)
    bound = racy_bound()
    fresh: dict[str, list[Any]] = {}
    rows = []
    tags = str(registry.tags_dir)
    for name in registry.tag_names():
        key = _key(f"{tags}/{name}", bound)
        hit = cached.get(name)
        row = hit[1] if key is not None and _holds(hit, key) else _row(registry, name)
        if key is not None:
            fresh[name] = [key, row]
        rows.append(row)
    from shrek.core.taint import registry_taints  # crosses tags: never cached

    taints = registry_taints(registry.tags_dir)
    listed = [{**row, "tainted": taints.count(row["name"])} for row in rows]
    if fresh != cached:
        with suppress(OSError):  # a read-only checkout: listed, not remembered
            write_atomic(
                path, json.dumps({"version": CACHE_VERSION, "code": context, "tags": fresh})
            )
    return listed


def _holds(hit: Any, key: str) -> TypeGuard[list[Any]]:
    """Whether a cached entry is a ``[key, row]`` pair under this key (a damaged cache file is
    read afresh, never trusted)."""
    return (
        isinstance(hit, list)
        and len(hit) == 2
        and hit[0] == key
        and isinstance(hit[1], dict)
        and isinstance(hit[1].get("name"), str)
    )


def _row(registry: Registry, name: str) -> dict[str, Any]:
    from shrek.core.taint import Taints
    from shrek.ops.tag import overview

    row = overview(registry, name, taints=Taints())
    del row["tainted"]
    return row


def _key(directory: str, bound: int) -> str | None:
    """The stats of everything a row reads, or None when one is racy (read it afresh).

    ``job/`` is keyed by the directory itself: the row reads only its entries' names, and a
    directory's times change whenever an entry is added, removed or renamed. Records and
    events are keyed file by file (one may be rewritten in place). Plain strings and ``os``
    calls: this runs for every tag of every listing."""
    parts: list[str] = []
    add = parts.append
    for name in (TAG_FILE, "freeze.yaml", "job"):
        try:
            info = os.stat(f"{directory}/{name}")
        except FileNotFoundError:
            add(name)
            continue
        if is_racy(info, bound):
            return None
        add(f"{name} {signature(info)}")
    for sub in ("lifecycle", "submissions"):
        if not _files(f"{directory}/{sub}", sub, bound, add):
            return None
    parts.sort()  # scandir's order is the file system's
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


def _files(directory: str, relative: str, bound: int, add: Callable[[str], None]) -> bool:
    """Every file below ``directory`` with its stat; False at a racy one."""
    try:
        entries = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError):
        add(relative)
        return True
    with entries:
        for entry in entries:
            inner = f"{relative}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if not _files(entry.path, inner, bound, add):
                    return False
                continue
            info = entry.stat(follow_symlinks=False)
            if is_racy(info, bound):
                return False
            add(f"{inner} {signature(info)}")
    return True


def _read(path: Path, context: str) -> dict[str, list[Any]]:
    data = read_cache(path, CACHE_VERSION)
    if data.get("code") != context or not isinstance(data.get("tags"), dict):
        return {}  # another SHREK's rows
    return data["tags"]
