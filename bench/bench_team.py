"""What the remote deciding costs (issue 25): a production submit against a loopback remote
(a real ``git daemon`` on 127.0.0.1) beside the same submit without a remote, in the same run.

The submit with a remote fetches, pushes its journal before the hand-over and publishes the
record after it: goal < 0.3 s more per submit than the same registry without a remote.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import SHREK, Timing, Verdicts, identity, run

from shrek.core.registry import Registry
from shrek.ops.freeze import freeze
from shrek.ops.init import init_registry
from shrek.ops.tag import TagRequest, new_tag
from tests.gitserver import git_daemon  # the project's own (bench/run.py puts it on the path)

SUBMITS = 7
GOAL_S = 0.3


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def _registry(tmp: Path) -> Registry:
    registry = Registry.open(init_registry(tmp / "registry"))
    tag = new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local")).name
    job = registry.tag_dir(tag) / "job"
    (job / ".gitkeep").unlink()
    (job / "gen.yaml").write_text(
        "name: gen\ndescription: bench\njobs: 1\nexec: echo e > out.txt\n"
        "outputs: [{name: events, files: out.txt}]\n"
    )
    _git(registry.root, "add", "-A")
    _git(registry.root, "commit", "-qm", "bench step")
    freeze(registry, tag)
    return registry


def _submits(registry: Registry) -> Timing:
    timing = Timing([], [])
    for _ in range(SUBMITS):
        one = run([*SHREK, "submit", "sP22aa/gen", "--again", "--detach"], registry.root, runs=1)
        timing.wall += one.wall
        timing.cpu += one.cpu
        time.sleep(0.3)  # the detached job ends; its record is published by the next command
    return timing


def main() -> int:
    identity()
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        alone = _registry(tmp / "alone")
        without = _submits(alone)
        shared = _registry(tmp / "shared")
        _git(tmp, "init", "-q", "--bare", "-b", "main", "remote.git")
        with git_daemon(tmp) as url:
            _git(shared.root, "remote", "add", "origin", f"{url}/remote.git")
            _git(shared.root, "push", "-q", "-u", "origin", "main")
            with_remote = _submits(shared)
            on_remote = _git(shared.root, "ls-remote", "origin", "refs/heads/main").split()[0]
        assert on_remote, "nothing reached the remote"
    extra = with_remote.median_wall - without.median_wall
    noise = max(with_remote.wall_noise, without.wall_noise)
    ok = extra < GOAL_S
    print(
        f"submit against a loopback remote (git daemon): {with_remote.median_wall:.2f} s; "
        f"the same submit without a remote: {without.median_wall:.2f} s -> {extra * 1000:.0f} ms "
        f"more (goal < {GOAL_S * 1000:.0f} ms; noise {noise:.2f})" + ("" if ok else "  MISSED")
    )
    runs = ", ".join(f"{t:.2f}" for t in with_remote.wall)
    print(f"  (with remote runs: {runs} s; median {statistics.median(with_remote.wall):.2f})")
    if not ok:
        verdicts.missed.append("submit against a remote")
    return verdicts.finish()


if __name__ == "__main__":
    sys.exit(main())
