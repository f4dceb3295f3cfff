"""Benchmarks of ``shrek freeze``.

1. Hashing throughput on 1 GB of resource files, compared in the same run with ``sha256sum``
   on the same files (target: at least 90 % of its throughput). The files are read once before
   timing so both measure hashing from the page cache, not the disk.
2. Freezing a tag whose input dataset has 100,000 files (target: under 3 s): catalogue look-up,
   the sorted file list written to ``inputs/``, freeze.yaml, the digest and the git commit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from shrek.catalogs import DatasetFile
from shrek.catalogs.factory import open_catalog
from shrek.core.hashing import sha256_file, sha256_files
from shrek.core.registry import Registry
from shrek.ops.freeze import freeze
from shrek.ops.init import init_registry
from shrek.ops.tag import TagRequest, new_tag

GIB = 1 << 30
FILES = 16
DATASET_FILES = 100_000


def best_of(runs: int, action: Callable[[], object]) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def hashing(tmp: Path) -> None:
    size = GIB // FILES
    block = os.urandom(1 << 20)
    paths = []
    for n in range(FILES):
        path = tmp / f"resource_{n:02d}.bin"
        with open(path, "wb") as handle:
            for _ in range(size // len(block)):
                handle.write(block)
        paths.append(path)
    subprocess.run(["cat", *map(str, paths)], stdout=subprocess.DEVNULL, check=True)  # warm
    ours = best_of(3, lambda: sha256_files(paths))
    single = best_of(3, lambda: [sha256_file(p) for p in paths])
    theirs = best_of(
        3,
        lambda: subprocess.run(
            ["sha256sum", *map(str, paths)], check=True, stdout=subprocess.DEVNULL
        ),
    )
    mb = GIB / 1e6
    print(
        f"hashing 1 GiB ({FILES} files): shrek {mb / ours:.0f} MB/s, sha256sum "
        f"{mb / theirs:.0f} MB/s -> {theirs / ours * 100:.0f} % of sha256sum's throughput "
        "(target >= 90 %)"
    )
    print(
        f"  one thread only: shrek {mb / single:.0f} MB/s ({theirs / single * 100:.0f} % of "
        "sha256sum)"
    )
    for path in paths:
        path.unlink()


def large_dataset(tmp: Path) -> None:
    os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@shrek.invalid")
    os.environ.setdefault("GIT_COMMITTER_NAME", "bench")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@shrek.invalid")
    registry = Registry.open(init_registry(tmp / "registry"))
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="mdc2.7", template="hfprod"))
    tag_yaml = registry.tag_dir("sP22aa-mdc2.7") / "tag.yaml"
    tag_yaml.write_text(tag_yaml.read_text().split("code:")[0] + "code: []\n")
    subprocess.run(["git", "commit", "-qam", "no remote code"], cwd=registry.root, check=True)
    files = [
        DatasetFile(
            f"G4Hits_mb_{n:07d}.root",
            1_000_000_000 + n,
            f"adler32:{n:08x}",
            f"/data/mb/G4Hits_mb_{n:07d}.root",
        )
        for n in range(DATASET_FILES)
    ]
    open_catalog(registry).register("mdc2.pythia8_pp_mb.g4hits", files)
    start = time.perf_counter()
    result = freeze(registry, "sP22aa")
    elapsed = time.perf_counter() - start
    assert result.changed
    print(f"freeze with a {DATASET_FILES:,}-file input dataset: {elapsed:.2f} s (target < 3 s)")
    start = time.perf_counter()
    freeze(registry, "sP22aa")
    print(f"re-freeze of the same tag (unchanged, recomputed): {time.perf_counter() - start:.2f} s")


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        hashing(tmp)
        large_dataset(tmp)
        shutil.rmtree(tmp / "registry", ignore_errors=True)


if __name__ == "__main__":
    main()
