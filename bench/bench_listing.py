"""Benchmark: ``shrek tag list`` of a registry with 5,000 tags, as a new process, beside the
floor of reading the same 5,000 tag.yaml files with PyYAML's C loader in a new process.

Goal (issue 19): under 1 s.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from harness import SHREK, Verdicts, identity, run

from shrek.core.labels import Label, sequence_letters
from shrek.ops.init import init_registry

TAGS = 5000

FLOOR = """
import glob, yaml
for name in glob.glob("tags/*/tag.yaml"):
    with open(name, "rb") as handle:
        yaml.load(handle.read(), Loader=yaml.CSafeLoader)
"""


def main() -> int:
    identity()
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory() as tmp:
        root = init_registry(Path(tmp) / "registry")
        lines = []
        for n in range(TAGS):
            label = Label("sP", 10 + n // 700, sequence_letters(n % 700 + 1))
            name = f"{label}-mdc2.7"
            (root / "tags" / name / "job").mkdir(parents=True)
            (root / "tags" / name / "tag.yaml").write_text(
                f"label: {label}\nbuild: mdc2.7\ntitle: production {n}\n"
                "description: bench\nowner: bench\n"
            )
            lines.append(f"{label}  {name}  2026-01-01T00:00:00Z  bench\n")
        with open(root / "labels.ledger", "a") as ledger:
            ledger.writelines(lines)
        floor = run([sys.executable, "-c", FLOOR], root, runs=3)
        ours = run([*SHREK, "tag", "list"], root, runs=3)
        print(f"(floor for scale: parsing {TAGS:,} tag.yaml files takes {floor.median_wall:.2f} s)")
        verdicts.ceiling(f"tag list, {TAGS:,} tags", ours, 1.0, floor)
    return verdicts.finish()


if __name__ == "__main__":
    sys.exit(main())
