"""Benchmark: ``shrek validate`` on 1,000 generated tags, draft and frozen, cold, writing the
cache and warm; on 10,000 frozen tags cold, with its peak memory; and SHREK's start-up, each
as a new process beside a floor measured in the same run.

Each tag is a copy of the two-step hfprod template (tag.yaml, two step files, four resources),
with its label in the ledger, so validation does the full work: parse, schema-check and
cross-check 3,000 YAML files and resolve 4,000 resources (frozen: 4,000 files, and every file
compared with its freeze). The floor is parsing the same YAML files with PyYAML's C loader in
a new process. Goals (issue 32): cold (``--no-cache``) <= 2x, the first run that writes the
cache (what a CI job on a fresh checkout pays) <= 2.5x and warm <= 0.5x the parse floor;
10,000 frozen tags cold <= 2.5x with a peak of at most 200 MB; ``shrek --version`` and
``--help`` (answered from the help a first one kept) <= 2x, and a warm one-tag ``shrek
validate`` <= 4x ``python -c "import yaml"``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from harness import SHREK, SHREK_COMMAND, Verdicts, peak_memory_mb, run

from shrek.core.labels import Label, sequence_letters
from shrek.core.registry import Registry
from shrek.core.validate import validate
from shrek.ops.init import init_registry
from shrek.ops.tag import TEMPLATES_DIR, TagRequest, new_tag

TAGS = 1000
MANY = 10_000


def build_registry(root: Path, count: int = TAGS) -> Registry:
    registry = Registry.open(init_registry(root))
    first = new_tag(registry, TagRequest(label="sP22a", build="mdc2.7", template="hfprod"))
    # pinned commits: freezing resolves no ref over the network
    tag_yaml = first.directory / "tag.yaml"
    text = tag_yaml.read_text().replace("ref: master", "ref: " + "a" * 40)
    tag_yaml.write_text(text.replace("ref: main", "ref: " + "b" * 40))
    ledger = (root / "labels.ledger").read_text()
    lines = []
    for n in range(1, count):
        year, index = 23 + n // 700, n % 700 + 1  # the first tag is sP22a: never again
        label = Label("sP", year, sequence_letters(index))
        name = f"{label}-mdc2.7"
        shutil.copytree(first.directory, root / "tags" / name)
        tag_yaml = root / "tags" / name / "tag.yaml"
        tag_yaml.write_text(tag_yaml.read_text().replace("label: sP22a", f"label: {label}"))
        lines.append(f"{label}  {name}  2026-01-01T00:00:00Z  bench\n")
    (root / "labels.ledger").write_text(ledger + "".join(lines))
    assert (TEMPLATES_DIR / "hfprod").is_dir()
    return registry


PARSE_FLOOR = """
import glob, sys, yaml
files = glob.glob("tags/*/tag.yaml") + glob.glob("tags/*/job/*.yaml")
files += glob.glob("tags/*/freeze.yaml")
for name in files:
    with open(name, "rb") as handle:
        yaml.load(handle.read(), Loader=yaml.CSafeLoader)
"""


def freeze_all(registry: Registry) -> None:
    """A freeze.yaml for every tag, as 'shrek freeze' computes it (not committed: validate
    does not need the commit, and 1,000 commits would only slow the set-up)."""
    from shrek.catalogs import DatasetFile
    from shrek.catalogs.factory import open_catalog
    from shrek.core.freeze import DIGESTED, HEADER, compute
    from shrek.core.layout import FREEZE_FILE
    from shrek.core.model import load_tag
    from shrek.core.yamlio import dump_yaml, write_atomic

    catalog = open_catalog(registry)
    background = registry.state_dir / "background"
    background.mkdir(parents=True, exist_ok=True)
    files = []
    for n in range(20):
        path = background / f"mb_{n:03d}.root"
        path.write_text(f"minimum bias {n}\n")
        files.append(DatasetFile(path.name, path.stat().st_size, "adler32:00000000", str(path)))
    catalog.register("mdc2.pythia8_pp_mb.g4hits", files)
    frozen = {"by": "bench", "at": "2026-01-01T00:00:00Z", "registry_commit": "0" * 40}
    for name in registry.tag_names():
        tag, _ = load_tag(registry, name)
        computed = compute(registry, tag, catalog)
        document = {"schema_version": 1, "tag": name, "digest": computed.digest}
        document["frozen"] = {**frozen, "shrek_version": "bench"}
        document.update({k: computed.content[k] for k in DIGESTED if k != "tag"})
        write_atomic(tag.directory / FREEZE_FILE, dump_yaml(document, HEADER))
        for relative, text in computed.lists.items():
            write_atomic(tag.directory / relative, text)
    report = validate(registry)
    assert report.ok, report.findings[:3]


def measure(verdicts: Verdicts, root: Path, kind: str) -> None:
    floor = run([sys.executable, "-c", PARSE_FLOOR], root)
    cold = run([*SHREK, "validate", "--no-cache"], root, runs=3)
    verdicts.ratio(f"validate, {TAGS} {kind} tags, cold", cold, floor, 2.0, "parse floor")
    cache = root / ".shrek" / "cache" / "validate.json"
    first = run([*SHREK, "validate"], root, runs=3, prepare=lambda: cache.unlink(missing_ok=True))
    verdicts.ratio(
        f"validate, {TAGS} {kind} tags, first run (writes the cache)",
        first,
        floor,
        2.5,
        "parse floor",
    )
    warm = run([*SHREK, "validate"], root)
    verdicts.ratio(f"validate, {TAGS} {kind} tags, warm", warm, floor, 0.5, "parse floor")


def at_scale(verdicts: Verdicts, tmp: Path) -> None:
    """10,000 frozen tags: cold validation beside its floor, and its peak memory."""
    registry = build_registry(tmp / "many", MANY)
    freeze_all(registry)
    floor = run([sys.executable, "-c", PARSE_FLOOR], registry.root, runs=3)
    cold = run([*SHREK, "validate", "--no-cache"], registry.root, runs=3)
    verdicts.ratio(f"validate, {MANY:,} frozen tags, cold", cold, floor, 2.5, "parse floor")
    peak = peak_memory_mb([*SHREK, "validate", "--no-cache"], registry.root)
    verdicts.memory(f"validate, {MANY:,} frozen tags, cold", peak, 200)


def start_up(verdicts: Verdicts, tmp: Path) -> None:
    registry = Registry.open(init_registry(tmp / "one"))
    new_tag(registry, TagRequest(label="sP22a", build="mdc2.7", template="hfprod"))
    floor = run([sys.executable, "-c", "import yaml"], registry.root, runs=7)
    version = run([*SHREK_COMMAND, "--version"], registry.root, runs=7)
    verdicts.ratio("shrek --version", version, floor, 2.0, "python -c 'import yaml'")
    cache = {"XDG_CACHE_HOME": str(tmp / "cache")}  # the help a first --help keeps (issue 32)
    for words in (["--help"], ["submit", "--help"], ["tag", "new", "--help"]):
        command = [*SHREK_COMMAND, *words]
        first = run(command, registry.root, runs=1, env=cache, check=True)
        print(f"shrek {' '.join(words)}, first (typer prints it): {first.median_cpu:.3f} s CPU")
        kept = run(command, registry.root, runs=7, env=cache, check=True)
        verdicts.ratio(f"shrek {' '.join(words)}", kept, floor, 2.0, "python -c 'import yaml'")
    run([*SHREK, "validate"], registry.root, runs=1)
    warm = run([*SHREK_COMMAND, "validate"], registry.root, runs=7)
    verdicts.ratio("shrek validate, 1 tag, warm", warm, floor, 4.0, "python -c 'import yaml'")


def main() -> int:
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory() as tmp:
        registry = build_registry(Path(tmp) / "registry")
        report = validate(Registry.open(registry.root))
        assert report.ok and len(report.checked) == TAGS, report.findings[:3]
        measure(verdicts, registry.root, "draft")
        freeze_all(registry)
        measure(verdicts, registry.root, "frozen")
        start_up(verdicts, Path(tmp))
        shutil.rmtree(registry.root)
        at_scale(verdicts, Path(tmp))
    return verdicts.finish()


if __name__ == "__main__":
    sys.exit(main())
