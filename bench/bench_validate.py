"""Benchmark: ``shrek validate`` (all tags) on a registry of 1,000 generated tags.

Each tag is a copy of the two-step hfprod template (tag.yaml, two step files, four resources),
with its label in the ledger, so validation does the full work: parse, schema-check and
cross-check 3,000 YAML files and resolve 4,000 resources. Measures the library call and the
command as a user runs it (a new process each time). Prints one line per figure.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shrek.core.labels import Label, sequence_letters
from shrek.core.registry import Registry
from shrek.core.validate import validate
from shrek.ops.init import init_registry
from shrek.ops.tag import TEMPLATES_DIR, new_tag

TAGS = 1000


def build_registry(root: Path) -> Registry:
    registry = Registry.open(init_registry(root))
    first = new_tag(registry, label="sP22a", build="mdc2.7", template="hfprod")
    ledger = (root / "labels.ledger").read_text()
    lines = []
    for n in range(1, TAGS):
        year, index = 10 + n // 700, n % 700 + 1
        label = Label("sP", year, sequence_letters(index))
        name = f"{label}-mdc2.7"
        shutil.copytree(first.directory, root / "tags" / name)
        tag_yaml = root / "tags" / name / "tag.yaml"
        tag_yaml.write_text(tag_yaml.read_text().replace("label: sP22a", f"label: {label}"))
        lines.append(f"{label}  {name}  2026-01-01T00:00:00Z  bench\n")
    (root / "labels.ledger").write_text(ledger + "".join(lines))
    assert (TEMPLATES_DIR / "hfprod").is_dir()
    return registry


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        registry = build_registry(Path(tmp) / "registry")
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            report = validate(Registry.open(registry.root))
            timings.append(time.perf_counter() - start)
            assert report.ok and len(report.checked) == TAGS, report.findings[:3]
        print(
            f"validate (library), {TAGS} tags: median {statistics.median(timings):.2f} s "
            f"({statistics.median(timings) / TAGS * 1000:.2f} ms/tag)"
        )
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "shrek", "validate"],
                cwd=registry.root,
                check=True,
                capture_output=True,
            )
            timings.append(time.perf_counter() - start)
        print(
            f"shrek validate (new process), {TAGS} tags: median {statistics.median(timings):.2f} s"
        )


if __name__ == "__main__":
    main()
