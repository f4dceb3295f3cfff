"""Compare a detached submit's CPU between another revision of SHREK and the working tree, in
one window of time.

On a shared machine the speed drifts within a minute, so two runs of ``make bench`` minutes
apart cannot tell a change of a few percent from the drift. This builds the submit bench's
registry once (5,000 commits, 400 records: ``bench_submit.workflow_history``) and alternates
``submit --detach`` of the other revision's code and of the working tree's, each followed by
its jobs' end and a run of the floor, so that both meet the same speed.

    .venv/bin/python bench/compare.py BASE [PAIRS]

BASE is checked out into a temporary git worktree and run with this environment's
dependencies (``python -m shrek`` with ``PYTHONPATH`` set to the tree, for both sides).
It prints the medians, each as a ratio to the floor, and the working tree's CPU as a share of
BASE's. It is a tool for a change, not a goal: ``make bench`` does not run it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_submit import wait_done, workflow_history
from harness import Timing, identity, run

PROJECT = Path(__file__).resolve().parent.parent
SUBMIT = ["submit", "sP22aa", "--again", "--detach", "--quiet"]


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2 or (len(argv) == 2 and not argv[1].isdigit()):
        print(__doc__, file=sys.stderr)
        return 2
    base, pairs = argv[0], int(argv[1]) if len(argv) == 2 else 10
    identity()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        tree = tmp / "base"
        added = subprocess.run(
            ["git", "-C", str(PROJECT), "worktree", "add", "--detach", "--quiet", str(tree), base],
            capture_output=True,
            text=True,
            check=False,
        )
        if added.returncode:
            print(f"compare: cannot check out {base}: {added.stderr.strip()}", file=sys.stderr)
            return 2
        try:
            return _compare(tmp, {base: tree, "working tree": PROJECT}, pairs)
        finally:
            subprocess.run(
                ["git", "-C", str(PROJECT), "worktree", "remove", "--force", str(tree)],
                check=False,
            )


def _compare(tmp: Path, sides: dict[str, Path], pairs: int) -> int:
    registry, tag = workflow_history(tmp)
    times = {side: Timing([], []) for side in sides}
    floor = Timing([], [])
    for code in sides.values():  # each side's bytecode compiled once, untimed
        run([sys.executable, "-m", "shrek", "validate"], registry.root, runs=1, env=_on(code))
    for _ in range(pairs):
        for side, code in sides.items():
            one = run(
                [sys.executable, "-m", "shrek", *SUBMIT], registry.root, runs=1, env=_on(code)
            )
            times[side].cpu += one.cpu
            times[side].wall += one.wall
            wait_done(registry, tag)
            beside = run([sys.executable, "-c", "import yaml"], registry.root, runs=1, check=True)
            floor.cpu += beside.cpu
    base, head = (statistics.median(t.cpu) for t in times.values())
    under = statistics.median(floor.cpu)
    for side, timing in times.items():
        cpu = statistics.median(timing.cpu)
        print(f"{side}: {cpu:.3f} s CPU, {cpu / under:.2f}x the floor ({under:.3f} s)")
    print(f"the working tree takes {head / base:.3f} of its CPU ({pairs} alternating pairs)")
    return 0


def _on(code: Path) -> dict[str, str]:
    """The environment that runs SHREK from ``code``."""
    return {"PYTHONPATH": str(code)}


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT))
    sys.exit(main(sys.argv[1:]))
