"""``shrek tag list`` answered from a cache that cannot lie.

Each row (label, build, title, steps, state, invalid submissions) depends only on files of the
tag's own directory: ``tag.yaml``, ``freeze.yaml``, the names of the step files, the records
under ``submissions/`` and the events under ``lifecycle/``. The row is kept in
``.shrek/cache/listing.json`` under a key of those paths' stats (:mod:`shrek.core.cachekey`:
size, inode, modification and change time): the files themselves, and the directories that
hold them, whose times change whenever an entry is added, removed or renamed. So any edit — a
record a ``status`` rewrote, a pulled event, a step file added, a ``tag.yaml`` whose mtime an
editor put back — changes the key, and a key is checked by stat-ing the paths it names, never
by listing the directories again. A tag with a racy time stamp is read afresh and not kept;
the whole cache belongs to one SHREK code.

Taints cross tags (a submission reads another tag's outputs), but they too are read only from
the tags' records and events. When every tag was keyed, and ``shrek.yaml`` (the label order)
and ``tags/`` (which tags there are) were keyed with them, the whole listing — taints
included — is kept, and :func:`cached_listing` gives it back without opening the registry:
the quick path of ``shrek tag list`` (:mod:`shrek.cli.quick`) loads neither YAML nor the
command line.

The cache is this machine's working state; a read-only checkout lists without remembering.
"""

from __future__ import annotations

import hashlib
import json
import os
from array import array

from shrek.core.cachekey import code_fingerprint, is_racy, racy_bound, read_cache, signature
from shrek.core.layout import (
    FREEZE_FILE,
    JOB_DIR,
    LIFECYCLE_DIR,
    REGISTRY_FILE,
    STATE_DIR,
    SUBMISSIONS_DIR,
    TAG_FILE,
    TAGS_DIR,
)

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from typing import Any, TypeGuard

    from shrek.core.registry import Registry

CACHE_FILE = "cache/listing.json"  # in .shrek/
CACHE_VERSION = 2
# What every row reads, before the records and events found below the last two.
TOP = (TAG_FILE, FREEZE_FILE, JOB_DIR, LIFECYCLE_DIR, SUBMISSIONS_DIR)
ABSENT = "-"
ABSENT_STAT = (0, 0, 0, 0, 0)  # no file has mode 0


def cached_listing(root: str) -> list[dict[str, Any]] | None:
    """The listing of the registry at ``root`` as it was kept, when nothing it was read from
    has changed since (else None: :func:`listing` reads what changed). Reads no YAML."""
    data = read_cache(f"{root}/{STATE_DIR}/{CACHE_FILE}", CACHE_VERSION)
    if not data.get("whole") or data.get("code") != code_fingerprint():
        return None
    bound = racy_bound()
    registry_key = [_stat_key(f"{root}/{name}", bound) for name in (REGISTRY_FILE, TAGS_DIR)]
    if None in registry_key or registry_key != data.get("registry"):
        return None
    shapes, tags = _shapes(data), data.get("tags")
    if not isinstance(tags, dict):
        return None
    rows = []
    for name, entry in tags.items():
        if not _holds(entry, shapes) or "tainted" not in entry[2]:
            return None
        if _digest(f"{root}/{TAGS_DIR}/{name}", shapes[entry[0]], bound) != entry[1]:
            return None
        rows.append(entry[2])
    return rows


def listing(registry: Registry) -> list[dict[str, Any]]:
    """One row per tag, in label order: from the cache where its key still holds."""
    path = registry.state_dir / CACHE_FILE
    context = code_fingerprint()
    kept = read_cache(path, CACHE_VERSION)
    if kept.get("code") != context:
        kept = {}  # another SHREK's rows
    bound = racy_bound()
    registry_key = _registry_key(registry, bound)  # before the tags are listed and read
    old_shapes = _shapes(kept)
    old_tags = kept["tags"] if isinstance(kept.get("tags"), dict) else {}
    shapes = _Shapes()
    keyed: dict[str, list[Any]] = {}
    rows = []
    tags = str(registry.tags_dir)
    for name in registry.tag_names():
        directory = f"{tags}/{name}"
        hit = old_tags.get(name)
        if _holds(hit, old_shapes) and _digest(directory, old_shapes[hit[0]], bound) == hit[1]:
            shape, digest = old_shapes[hit[0]], hit[1]
            row = {key: value for key, value in hit[2].items() if key != "tainted"}
        else:  # keyed before it is read: an edit while reading changes the key next time
            shape = _shape(directory)
            digest = _digest(directory, shape, bound)
            row = _row(registry, name)
        if digest is not None:
            keyed[name] = [shapes.index(shape), digest, row]
        rows.append(row)
    from shrek.core.taint import registry_taints  # crosses tags: counted from every tag

    taints = registry_taints(registry.tags_dir)
    listed = [{**row, "tainted": taints.count(row["name"])} for row in rows]
    whole = registry_key is not None and len(keyed) == len(rows)
    if whole:
        keyed = {row["name"]: [*keyed[row["name"]][:2], row] for row in listed}
    fresh = {
        "version": CACHE_VERSION,
        "code": context,
        "whole": whole,
        "registry": registry_key,
        "shapes": shapes.all,
        "tags": keyed,
    }
    if fresh != kept:
        from contextlib import suppress

        from shrek.core.yamlio import write_atomic

        with suppress(OSError):  # a read-only checkout: listed, not remembered
            write_atomic(path, json.dumps(fresh))
    return listed


def _registry_key(registry: Registry, bound: int) -> list[str] | None:
    """The stats of ``shrek.yaml`` (the label order) and ``tags/`` (which tags there are),
    when the settings on disk are the ones the registry was opened with, and checked."""
    root = str(registry.root)
    key = [_stat_key(f"{root}/{name}", bound) for name in (REGISTRY_FILE, TAGS_DIR)]
    try:
        with open(f"{root}/{REGISTRY_FILE}", encoding="utf-8", newline="") as handle:
            same = handle.read() == registry.document.text
    except (OSError, UnicodeDecodeError):
        same = False
    if not same or None in key:
        return None
    return [str(part) for part in key]


def _stat_key(path: str, bound: int) -> str | None:
    """A path's stat as a key, ``-`` when it is absent, None when racy."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return ABSENT
    return None if is_racy(info, bound) else signature(info)


def _digest(directory: str, shape: list[str], bound: int) -> str | None:
    """The key of a tag: the stats of every path of its ``shape`` (:func:`signature`'s
    fields, ``0`` for an absent path), or None when one is racy.

    Plain ``os`` calls and a digest of the numbers as machine words, not text: this runs for
    every path of every tag of every listing, and formatting 45,000 stats as text cost more
    than a tenth of the quick answer."""
    numbers: list[int] = []
    add = numbers.extend
    for relative in shape:
        try:
            info = os.stat(f"{directory}/{relative}")
        except (FileNotFoundError, NotADirectoryError):
            add(ABSENT_STAT)
            continue
        modified, changed = info.st_mtime_ns, info.st_ctime_ns
        if modified >= bound or changed >= bound:
            return None
        add((info.st_mode, info.st_size, modified, changed, info.st_ino))
    try:
        data = array("q", numbers).tobytes()
    except OverflowError:  # an inode number past 2**63: as text
        data = " ".join(map(str, numbers)).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _shape(directory: str) -> list[str]:
    """The paths a tag's row is read from: :data:`TOP`, then every directory and file below
    ``lifecycle/`` and ``submissions/`` (``job/`` is keyed by the directory itself: the row
    reads only its entries' names)."""
    found: list[str] = []
    for sub in (LIFECYCLE_DIR, SUBMISSIONS_DIR):
        _below(f"{directory}/{sub}", sub, found)
    return [*TOP, *sorted(found)]


def _below(directory: str, relative: str, found: list[str]) -> None:
    try:
        entries = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return
    with entries:
        for entry in entries:
            inner = f"{relative}/{entry.name}"
            found.append(inner)
            if entry.is_dir(follow_symlinks=False):
                _below(entry.path, inner, found)


class _Shapes:
    """The distinct shapes of the listing's tags, each kept once (most tags share one)."""

    def __init__(self) -> None:
        self.all: list[list[str]] = []
        self._index: dict[tuple[str, ...], int] = {}

    def index(self, shape: list[str]) -> int:
        key = tuple(shape)
        if key not in self._index:
            self._index[key] = len(self.all)
            self.all.append(shape)
        return self._index[key]


def _shapes(data: dict[str, Any]) -> list[list[str]]:
    """The kept shapes, when every one is a list of paths inside a tag (else none: every tag
    is read afresh; a damaged or planted cache never makes a listing stat outside its tags)."""
    shapes = data.get("shapes")
    if not isinstance(shapes, list) or not all(
        isinstance(shape, list) and all(_inside(path) for path in shape) for shape in shapes
    ):
        return []
    return shapes


def _inside(path: Any) -> bool:
    return isinstance(path, str) and not path.startswith("/") and ".." not in path.split("/")


def _holds(entry: Any, shapes: list[list[str]]) -> TypeGuard[list[Any]]:
    """Whether a cached entry is a ``[shape, key, row]`` triple whose shape exists (a damaged
    cache file is read afresh, never trusted)."""
    return (
        isinstance(entry, list)
        and len(entry) == 3
        and type(entry[0]) is int
        and 0 <= entry[0] < len(shapes)
        and isinstance(entry[1], str)
        and isinstance(entry[2], dict)
        and isinstance(entry[2].get("name"), str)
    )


def _row(registry: Registry, name: str) -> dict[str, Any]:
    from shrek.core.taint import Taints
    from shrek.ops.tag import overview

    row = overview(registry, name, taints=Taints())
    del row["tainted"]
    return row
