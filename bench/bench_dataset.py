"""Benchmark: ``shrek dataset add NAME --from-file LIST`` registering 100,000 files, as a new
process, beside the floor of reading every file's size and adler32 in a new process.

Goal (issue 19): within 3x of the floor.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from harness import SHREK, Verdicts, identity, run

from shrek.ops.init import init_registry

FILES = 100_000

FLOOR = """
import os, sys, zlib
for line in open(sys.argv[1]):
    path = line.strip()
    os.stat(path)
    with open(path, "rb") as handle:
        zlib.adler32(handle.read())
"""


def main() -> int:
    identity()
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory() as tmp:
        root = init_registry(Path(tmp) / "registry")
        data = Path(tmp) / "data"
        data.mkdir()
        paths = []
        for n in range(FILES):
            path = data / f"hits_{n:06d}.root"
            path.write_bytes(b"%d\n" % n)
            paths.append(str(path))
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(paths) + "\n")
        floor = run([sys.executable, "-c", FLOOR, str(listing)], root, runs=3)
        ours = run(
            [*SHREK, "dataset", "add", "bench.hits", "--from-file", str(listing), "--quiet"],
            root,
            runs=3,  # the first registers; the others find every file there already
        )
        verdicts.ratio(
            f"dataset add --from-file, {FILES:,} files", ours, floor, 3.0, "stat + adler32"
        )
    return verdicts.finish()


if __name__ == "__main__":
    sys.exit(main())
