"""Timing whole processes against floors measured in the same run, and judging goals.

The machine is shared and noisy, so a figure is never an absolute number of seconds: each is
the median of several runs of the real command (a new process, as a user runs it) beside a
floor measured in the same run (what the work costs at the least: a bare parse, a bare
interpreter). A goal is a ratio to its floor (or, for costs that must not grow with history, a
ceiling in seconds). A median over its goal is a miss, printed as one: the noise measured in
the same runs (max/min) is printed beside each figure so a reader can judge it, and is never
multiplied into the goal. ``finish()`` prints the verdicts and gives ``make bench`` its exit
status (non-zero when any goal was missed).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SHREK = [sys.executable, "-m", "shrek"]
# The installed command itself (its console script), as a user types it.
SHREK_COMMAND = [str(Path(sys.executable).with_name("shrek"))]


def bytecode_cache() -> dict[str, str]:
    """Child processes load compiled bytecode, as an installed SHREK does on a user's machine.

    Some machines (CI images, this one) set PYTHONDONTWRITEBYTECODE, and every run would then
    compile SHREK's sources again: 30 ms of a 100 ms command that no user pays. The bytecode
    goes to a directory of its own, never into the checkout."""
    import tempfile

    global _PYCACHE
    if _PYCACHE is None:
        _PYCACHE = Path(tempfile.gettempdir()) / f"shrek-bench-pycache-{os.getuid()}"
        package = Path(__file__).resolve().parent.parent / "shrek"
        subprocess.run(  # compiled once before anything is timed
            [sys.executable, "-m", "compileall", "-q", str(package)],
            env={**os.environ, "PYTHONPYCACHEPREFIX": str(_PYCACHE)},
            check=True,
        )
    return {"PYTHONPYCACHEPREFIX": str(_PYCACHE), "PYTHONDONTWRITEBYTECODE": ""}


_PYCACHE: Path | None = None


def git_history(root: Path, commits: int, path: str, start: int = 1_600_000_000) -> None:
    """``commits`` commits on ``main`` that each change ``path``, through git fast-import
    (seconds, not minutes), then the work tree checked out at the last one."""
    lines = []
    for n in range(commits):
        data = f"entry {n}\n"
        lines += [
            "commit refs/heads/main",
            f"author bench <b@x> {start + n} +0000",
            f"committer bench <b@x> {start + n} +0000",
            "data 7",
            "history",
        ]
        if n == 0:
            lines.append("from refs/heads/main^0")
        lines += [f"M 644 inline {path}", f"data {len(data)}", data.rstrip("\n")]
    stream = ("\n".join(lines) + "\n").encode()
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=stream, check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=root, check=True)


def identity() -> None:
    """Commits made by a benchmark need an identity; a bench machine may have none."""
    for key, value in (
        ("GIT_AUTHOR_NAME", "bench"),
        ("GIT_AUTHOR_EMAIL", "bench@shrek.invalid"),
        ("GIT_COMMITTER_NAME", "bench"),
        ("GIT_COMMITTER_EMAIL", "bench@shrek.invalid"),
    ):
        os.environ.setdefault(key, value)


@dataclass
class Timing:
    wall: list[float]
    cpu: list[float]

    @property
    def median_wall(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)

    @property
    def wall_noise(self) -> float:
        """max/min of the runs' wall times (for figures judged by wall time)."""
        return max(self.wall) / max(min(self.wall), 1e-6)

    @property
    def noise(self) -> float:
        """max/min of the runs' CPU times: how much the same work varied here and now."""
        return max(self.cpu) / max(min(self.cpu), 1e-6)


def run(
    argv: list[str],
    cwd: Path,
    *,
    runs: int = 5,
    env: dict | None = None,
    check: bool = False,
    prepare: Callable[[], None] | None = None,
) -> Timing:
    """Run ``argv`` ``runs`` times as a new process; wall and CPU (user + system) seconds.
    ``check``: a run that fails is an error (a floor that failed fast would flatter us);
    ``prepare``: called before each run, untimed (e.g. removing a cache)."""
    wall, cpu = [], []
    for _ in range(runs):
        if prepare is not None:
            prepare()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = _now()
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=_environment(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE if check else subprocess.DEVNULL,
            check=False,
        )
        if check and done.returncode:
            raise RuntimeError(f"{argv[:4]} failed ({done.returncode}): {done.stderr[-2000:]!r}")
        wall.append(_now() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return Timing(wall, cpu)


def _environment(extra: dict | None) -> dict[str, str]:
    environment = {**os.environ, **bytecode_cache(), **(extra or {})}
    if not environment.get("PYTHONDONTWRITEBYTECODE"):
        environment.pop("PYTHONDONTWRITEBYTECODE", None)  # an empty value still counts as set
    return environment


def _now() -> float:
    import time

    return time.perf_counter()


@dataclass
class Verdicts:
    missed: list[str] = field(default_factory=list)

    def ratio(self, what: str, ours: Timing, floor: Timing, goal: float, floor_name: str) -> None:
        """Print ``what``'s CPU time beside its floor; the goal is a ratio to the floor."""
        value = ours.median_cpu / max(floor.median_cpu, 1e-6)
        noise = max(floor.noise, ours.noise)
        ok = value <= goal
        print(
            f"{what}: {ours.median_cpu:.3f} s CPU ({ours.median_wall:.3f} s wall); {floor_name}: "
            f"{floor.median_cpu:.3f} s -> {value:.2f}x (goal <= {goal}x, noise {noise:.2f})"
            + ("" if ok else "  MISSED")
        )
        if not ok:
            self.missed.append(what)

    def ceiling(self, what: str, ours: Timing, seconds: float, reference: Timing | None) -> None:
        """Print ``what``'s wall time; the goal is a ceiling (the noise is printed beside)."""
        noise = max(ours.wall_noise, reference.wall_noise if reference else 1.0)
        ok = ours.median_wall <= seconds
        print(
            f"{what}: {ours.median_wall:.3f} s wall (goal < {seconds} s, noise {noise:.2f})"
            + ("" if ok else "  MISSED")
        )
        if not ok:
            self.missed.append(what)

    def overhead(
        self, what: str, ours: Timing, floor: Timing, units: int, goal_ms: float, floor_name: str
    ) -> None:
        """Print what ``ours`` costs per unit (a job) beyond ``floor`` doing the same work;
        the goal is a ceiling in milliseconds per unit (the noise is printed beside)."""
        per_unit = (ours.median_wall - floor.median_wall) / units * 1000
        noise = max(ours.wall_noise, floor.wall_noise)
        ok = per_unit <= goal_ms
        print(
            f"{what}: {ours.median_wall:.2f} s wall; {floor_name}: {floor.median_wall:.2f} s -> "
            f"{per_unit:.1f} ms per unit over the floor (goal <= {goal_ms} ms, noise "
            f"{noise:.2f})" + ("" if ok else "  MISSED")
        )
        if not ok:
            self.missed.append(what)

    def memory(self, what: str, peak_mb: float, ceiling_mb: float) -> None:
        """Print a process's peak resident memory; the goal is a ceiling in MB."""
        ok = peak_mb <= ceiling_mb
        print(
            f"{what}: peak {peak_mb:.0f} MB (goal <= {ceiling_mb:.0f} MB)"
            + ("" if ok else "  MISSED")
        )
        if not ok:
            self.missed.append(what)

    def finish(self) -> int:
        if self.missed:
            print(f"{len(self.missed)} goal(s) missed: {', '.join(self.missed)}")
            return 1
        print("every goal met")
        return 0


PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_memory_mb(argv: list[str], cwd: Path) -> float:
    """The peak resident memory of one run of ``argv`` (its own process), in MB."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK, *argv],
        cwd=cwd,
        env=_environment(None),
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip()) / 1024  # ru_maxrss is in kB on Linux
