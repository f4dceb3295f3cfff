"""Benchmark: costs that must not grow with history, each as a new process.

- ``shrek status --no-commit`` of a tag with 1,000 finished submission records, beside the
  floor of parsing the same 1,000 records with PyYAML's C loader: on first look (no records
  cache; goal, issue 32: <= 1.5x the floor) and warm (goal: under 0.5 s);
- ``shrek log`` of that tag after 5,000 commits touching it (goal: under 1 s), beside the
  floor of the ``git log`` it asks for;
- ``shrek provenance`` of the newest of those 1,000 submissions' datasets after the 5,000
  commits (goal: under 1 s): it finds the record among the tag's, and reads the registry at
  the record's journal commit; beside the floor of the ``git log`` of the record's path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import SHREK, Verdicts, git_history, identity, run

from shrek.catalogs.factory import open_catalog
from shrek.core.registry import Registry
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.init import init_registry
from shrek.ops.status import refresh
from shrek.ops.submit import SubmitRequest, submit
from shrek.ops.tag import TagRequest, new_tag
from tests.records import copy_record

RECORDS = 1000
COMMITS = 5000
TAG = "sP22aa-local"

FLOOR = """
import glob, yaml
for name in glob.glob("tags/*/submissions/*/*.yaml"):
    with open(name, "rb") as handle:
        yaml.load(handle.read(), Loader=yaml.CSafeLoader)
"""


def with_history(root: Path, records: int = RECORDS) -> Registry:
    """The demo tag with one real, finished submission copied into ``records`` records."""
    registry = Registry.open(init_registry(root))
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local", template="demo"))
    background = root.parent / "mb.txt"
    background.write_text("minbias\n")
    add_files(open_catalog(registry), "demo.minbias.background", [background])
    freeze(registry, TAG)
    submit(registry, SubmitRequest("sP22aa/demo-pass1", detach=True))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(r.state == "done" for r in refresh(registry, TAG).records):
            break
        time.sleep(0.1)
    step_dir = registry.tag_dir(TAG) / "submissions" / "demo-pass1"
    for n in range(2, records + 1):
        copy_record(step_dir, n)
    if records > 1:
        subprocess.run(["git", "add", "tags"], cwd=root, check=True)
        subprocess.run(
            ["git", "commit", "-qm", f"bench: {records:,} records"], cwd=root, check=True
        )
    return registry


def main() -> int:
    identity()
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory() as tmp:
        registry = with_history(Path(tmp) / "registry")
        floor = run([sys.executable, "-c", FLOOR], registry.root, runs=3)
        print(f"(floor for scale: parsing {RECORDS:,} records takes {floor.median_wall:.2f} s)")
        records_cache = registry.state_dir / "cache" / "records"
        first = run(
            [*SHREK, "status", "--no-commit", "sP22aa"],
            registry.root,
            runs=3,
            prepare=lambda: shutil.rmtree(records_cache, ignore_errors=True),
        )
        verdicts.ratio(
            f"status of {RECORDS:,} records, first look (no records cache)",
            first,
            floor,
            1.5,
            "parsing them",
        )
        ours = run([*SHREK, "status", "--no-commit", "sP22aa"], registry.root)
        verdicts.ceiling(f"status of a tag with {RECORDS:,} finished records", ours, 0.5, floor)
        git_history(registry.root, COMMITS, f"tags/{TAG}/NOTES.txt")
        git_log = ["git", "log", "--reverse", "--format=%H%x1f%aI%x1f%an%x1f%s", "--"]
        floor = run([*git_log, f"tags/{TAG}"], registry.root, runs=3)
        print(f"(floor for scale: git log of {COMMITS:,} commits takes {floor.median_wall:.2f} s)")
        ours = run([*SHREK, "log", "sP22aa"], registry.root, runs=3)
        verdicts.ceiling(f"log of a tag with {COMMITS:,} commits", ours, 1.0, floor)
        newest = f"tags/{TAG}/submissions/demo-pass1/{RECORDS:04d}.yaml"
        floor = run(["git", "log", "--format=%H", "--", newest], registry.root, runs=3)
        print(f"(floor for scale: git log of one record's path takes {floor.median_wall:.2f} s)")
        dataset = f"prod.{TAG}.demo-pass1.events.s{RECORDS:04d}"
        answer = subprocess.run(
            [*SHREK, "provenance", dataset], cwd=registry.root, capture_output=True, text=True
        )
        if answer.returncode or f"demo-pass1/{RECORDS:04d}" not in answer.stdout:
            raise SystemExit(f"shrek provenance did not answer: {answer.stderr}")
        ours = run([*SHREK, "provenance", dataset], registry.root, runs=3)
        verdicts.ceiling(
            f"provenance of the newest of {RECORDS:,} submissions, {COMMITS:,} commits on",
            ours,
            1.0,
            floor,
        )
    return verdicts.finish()


if __name__ == "__main__":
    sys.exit(main())
