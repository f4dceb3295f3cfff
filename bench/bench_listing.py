"""Benchmark: ``shrek tag list`` of registries with 5,000 and 10,000 full tags, as a new
process, beside the floor of parsing the same tag.yaml files with PyYAML's C loader in a new
process, both measured in the same run.

Every tag is a copy of the demo production after both its steps ran on the local backend: its
tag.yaml, two step files, resources, freeze.yaml and frozen input list, README and two
submission records whose history holds every state they passed (what a real tag carries).
Goal (issue 32): the listing (answered from its cache, .shrek/cache/listing.json) within 1x
the parse floor; the first listing, which reads every tag and writes the cache, is printed
beside for scale.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness import SHREK, Verdicts, identity, run

from shrek.core.labels import Label, sequence_letters
from shrek.core.registry import Registry
from shrek.ops.dataset import register_files
from shrek.ops.freeze import freeze
from shrek.ops.init import init_registry
from shrek.ops.plan import SubmitRequest
from shrek.ops.submit import submit
from shrek.ops.tag import TagRequest, new_tag
from shrek.ops.watch import Watch

SIZES = (5000, 10000)

FLOOR = """
import glob, yaml
for name in glob.glob("tags/*/tag.yaml"):
    with open(name, "rb") as handle:
        yaml.load(handle.read(), Loader=yaml.CSafeLoader)
"""


def _to_the_end(watch: Watch) -> None:
    for _ in watch.updates():
        pass


def produced_tag(root: Path) -> Path:
    """The demo tag, frozen, both steps run to the end: the directory to copy."""
    registry = Registry.open(init_registry(root))
    created = new_tag(registry, TagRequest(label="sP22a", build="local", template="demo"))
    background = root.parent / "background.txt"
    background.write_text("minbias 1 0.1 0.2 0.3\n" * 20)
    register_files(registry, "demo.minbias.background", [background])
    freeze(registry, created.name)
    for step in ("demo-pass1", "demo-pass2"):
        submit(registry, SubmitRequest(f"sP22a/{step}"), wait=_to_the_end)
    return created.directory


def copies(template: Path, root: Path, count: int) -> None:
    """``count`` copies of the produced tag, each with its own label in tag.yaml and ledger."""
    Registry.open(init_registry(root))
    lines = []
    for n in range(count):
        label = Label("sP", 10 + n // 700, sequence_letters(n % 700 + 1))
        name = f"{label}-local"
        target = root / "tags" / name
        shutil.copytree(template, target)
        tag_yaml = target / "tag.yaml"
        tag_yaml.write_text(tag_yaml.read_text().replace("label: sP22a", f"label: {label}"))
        lines.append(f"{label}  {name}  2026-01-01T00:00:00Z  bench\n")
    with open(root / "labels.ledger", "a") as ledger:
        ledger.writelines(lines)


def main() -> int:
    identity()
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory() as tmp:
        template = produced_tag(Path(tmp) / "produced")
        records = sorted((template / "submissions").rglob("*.yaml"))
        assert len(records) == 2, records
        for count in SIZES:
            root = Path(tmp) / f"tags-{count}"
            copies(template, root, count)
            time.sleep(2.5)  # every file older than the racy window, as a checkout is
            first = run([*SHREK, "tag", "list"], root, runs=1, check=True)
            floor = run([sys.executable, "-c", FLOOR], root, runs=5, check=True)
            ours = run([*SHREK, "tag", "list"], root, runs=5, check=True)
            print(
                f"tag list, {count:,} tags, first (reads every tag, writes the cache): "
                f"{first.median_cpu:.2f} s CPU"
            )
            verdicts.ratio(
                f"tag list, {count:,} full tags", ours, floor, 1.0, "parsing their tag.yaml"
            )
            shutil.rmtree(root)
    return verdicts.finish()


if __name__ == "__main__":
    sys.exit(main())
