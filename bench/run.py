"""Run every benchmark in bench/ (``make bench``), print their figures, and exit non-zero when
a goal was missed (a median over its goal; the noise is printed beside, never forgiven)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))  # the project: tests.gitserver serves git on loopback
    sys.path.insert(0, str(HERE))
    wanted = sys.argv[1:]
    status = 0
    for script in sorted(HERE.glob("bench_*.py")):
        if wanted and script.stem.removeprefix("bench_") not in wanted:
            continue
        print(f"== {script.stem}", flush=True)
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as done:
            status = max(status, int(done.code or 0))
    sys.exit(status)
