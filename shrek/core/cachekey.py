"""What SHREK's caches key a file by, so that none of them can answer for changed content.

A file is keyed by its size, inode, modification time *and change time*: ``ctime`` is set by
the kernel on every write and no tool can set it back, so an edit that keeps the size and
restores the modification time (``cp -p``, ``touch -r``, ``tar x``, ``rsync -t --inplace``)
still changes the key. A time stamp less than :data:`RACY_S` old when the key is made is
*racy* (git's rule): on a file system with coarse time stamps, an edit in the same tick would
not move it, so such a file is never keyed by its times. Every key also covers SHREK's own
code (:func:`code_fingerprint`): a changed SHREK never reuses what an older one computed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from typing import Any

RACY_S = 2.0  # a time stamp this recent may not change again for the next edit (FAT: 2 s)


def racy_bound() -> int:
    """Time stamps at or after this (ns) are racy: too recent to vouch for the content."""
    return time.time_ns() - int(RACY_S * 1e9)


def signature(info: os.stat_result) -> str:
    """A file's stat, as the caches key it."""
    return f"{info.st_mode} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns} {info.st_ino}"


def is_racy(info: os.stat_result, bound: int) -> bool:
    return max(info.st_mtime_ns, info.st_ctime_ns) >= bound


_CODE: list[str] = []  # the fingerprint of SHREK's own code, once per process


def code_fingerprint() -> str:
    """SHREK's own code as it is installed: every module's path, size and modification time.

    A changed check (an editable install, a patched module) must not be answered by what an
    older one computed; the version alone does not change while code is being developed.
    Plain ``os`` calls: ``tag list`` answers from its cache in a few tens of milliseconds, and
    this is part of every answer.
    """
    if not _CODE:
        package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
        digest = hashlib.sha256()
        for root, directories, files in os.walk(package):
            directories.sort()
            relative = os.path.relpath(root, package).replace(os.sep, "/")
            for name in sorted(files):
                if name.endswith(".py"):
                    info = os.stat(os.path.join(root, name))
                    digest.update(f"{relative}/{name} {info.st_size} {info.st_mtime_ns}\0".encode())
        _CODE.append(digest.hexdigest())
    return _CODE[0]


def read_cache(path: str | os.PathLike[str], version: int) -> dict[str, Any]:
    """A cache file's content when it is this ``version``'s (else nothing: it is rebuilt);
    a missing or damaged file is an empty cache, never an error."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != version:
        return {}
    return data
