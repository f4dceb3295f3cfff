"""Benchmark: ``shrek site`` of 1,000 tags and 10,000 submission records, as a new process,
beside the floor of reading the same records and tag files with PyYAML's C loader.

- the first build, into an empty directory (goal, issue 31: under 10 s);
- the build again with nothing changed: every page rendered, none written;
- the build after one new record: only the pages that show it are written (goal: at most
  the front page, the tag's page, the datasets it wrote and read, the search index).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_history import with_history
from harness import SHREK, Verdicts, identity, run

from shrek.core.labels import Label, sequence_letters
from tests.records import copy_record

TAGS = 1000
RECORDS_PER_TAG = 10
SOURCE = "sP22aa-local"

FLOOR = """
import glob, yaml
for pattern in ("tags/*/tag.yaml", "tags/*/job/*.yaml", "tags/*/submissions/*/*.yaml"):
    for name in glob.glob(pattern):
        with open(name, "rb") as handle:
            yaml.load(handle.read(), Loader=yaml.CSafeLoader)
"""


def populate(root: Path) -> None:
    """1,000 copies of the demo tag (steps, resources, freeze, README), each with ten
    records of a real finished submission, every one committed."""
    source = root / "tags" / SOURCE
    records = source / "submissions" / "demo-pass1"
    for n in range(2, RECORDS_PER_TAG + 1):
        copy_record(records, n)
    lines = []
    for n in range(1, TAGS):
        label = str(Label("sP", 23 + n // 700, sequence_letters(n % 700 + 1)))
        name = f"{label}-local"
        target = root / "tags" / name
        shutil.copytree(source, target)
        for path in target.rglob("*.yaml"):
            text = path.read_text()
            if "sP22aa" in text:
                path.write_text(text.replace(SOURCE, name).replace("sP22aa", label))
        lines.append(f"{label}  {name}  2026-01-01T00:00:00Z  bench\n")
    with open(root / "labels.ledger", "a") as ledger:
        ledger.writelines(lines)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "bench: 1,000 tags"], cwd=root, check=True)


def one_more_record(root: Path) -> None:
    copy_record(root / "tags" / SOURCE / "submissions" / "demo-pass1", RECORDS_PER_TAG + 1)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "bench: one more record"], cwd=root, check=True)


def main() -> int:
    identity()
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory() as tmp:
        registry = with_history(Path(tmp) / "registry", records=1)
        root = registry.root
        populate(root)
        site = Path(tmp) / "site"
        floor = run([sys.executable, "-c", FLOOR], root, runs=3, check=True)
        print(
            f"(floor for scale: parsing {TAGS:,} tags' files and {TAGS * RECORDS_PER_TAG:,} "
            f"records takes {floor.median_wall:.2f} s)"
        )
        first = f"rm -rf {site} && {' '.join(SHREK)} site -o {site}"
        ours = run(["sh", "-c", first], root, runs=3, check=True)
        verdicts.ceiling(
            f"site of {TAGS:,} tags, {TAGS * RECORDS_PER_TAG:,} records, first build",
            ours,
            10.0,
            floor,
        )
        again = run([*SHREK, "site", "-o", str(site)], root, runs=3, check=True)
        verdicts.ceiling("the same site again, nothing changed", again, 10.0, floor)
        one_more_record(root)
        done = subprocess.run(
            [*SHREK, "site", "-o", str(site), "--json"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(done.stdout)
        print(
            f"after one new record: {report['written']} of {report['pages']} files written "
            f"(goal <= 6) in {report['seconds']:.2f} s"
        )
        if report["written"] > 6:
            verdicts.missed.append("site rebuild after one record")
    return verdicts.finish()


if __name__ == "__main__":
    sys.exit(main())
