"""Submission records already committed in a tag: what later submissions must not repeat.

Each record (``tags/<tag>/submissions/<step>/NNNN.yaml``) names the sequence-number range every
step it covers used (``sequences: {<step>: {first: N, last: M}}``). A new submission starts
after the highest number any earlier one used, so no two jobs of a production ever share a
sequence number, and so an RNG seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shrek.yamlio import Loader

SUBMISSIONS_DIR = "submissions"


def record_files(tag_dir: Path) -> list[Path]:
    directory = tag_dir / SUBMISSIONS_DIR
    return sorted(directory.glob("*/*.yaml")) if directory.is_dir() else []


def read_record(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=Loader)
    return data if isinstance(data, dict) else {}


def next_sequence(tag_dir: Path, step: str) -> int:
    """The first sequence number a new submission of ``step`` may use."""
    last = 0
    for path in record_files(tag_dir):
        used = (read_record(path).get("sequences") or {}).get(step) or {}
        last = max(last, int(used.get("last", 0)))
    return last + 1
