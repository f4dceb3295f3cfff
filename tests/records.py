"""Submission records made in bulk for tests and benchmarks: copies of a real one."""

from __future__ import annotations

import re
from pathlib import Path


def copy_record(records: Path, number: int) -> Path:
    """Record ``number`` of a step (``records`` is its submissions directory): its first
    record again, renumbered — the number, the id and the datasets' ``.sNNNN`` — as if the
    step had been submitted that many times."""
    text = (records / "0001.yaml").read_text()
    text = re.sub(r"^number: 1$", f"number: {number}", text, flags=re.M)
    text = text.replace("/0001", f"/{number:04d}").replace(".s0001", f".s{number:04d}")
    path = records / f"{number:04d}.yaml"
    path.write_text(text)
    return path
