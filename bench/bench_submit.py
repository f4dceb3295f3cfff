"""Benchmarks of ``shrek submit`` on the local backend.

1. 200 trivial jobs with 2 workers through the local backend, compared in the same run with
   running the same rendered wrapper scripts directly with ``xargs -P 2`` (one working
   directory each). Target: SHREK's overhead under 15 ms per job.
2. ``submit --detach`` (guards, render, records, two commits, runner start; not the jobs) of a
   4-step workflow on a registry with 5,000 commits. Target: under 1 s.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import yaml
from harness import identity

from shrek.cli.watch import follow
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.ops.freeze import freeze
from shrek.ops.init import init_registry
from shrek.ops.submit import SubmitRequest, submit
from shrek.ops.tag import new_tag

JOBS = 200
HISTORY = 5000


def write_step(registry: Registry, tag: str, name: str, **fields: object) -> None:
    path = registry.tag_dir(tag) / "job" / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump({"name": name, "description": "bench", **fields}, sort_keys=False)
    )


def commit_all(registry: Registry, message: str) -> None:
    subprocess.run(["git", "add", "-A"], cwd=registry.root, check=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=registry.root, check=True)


def trivial_jobs(tmp: Path) -> None:
    registry = Registry.open(init_registry(tmp / "jobs"))
    tag = new_tag(registry, label="sP22aa", build="local").name
    (registry.tag_dir(tag) / "job" / ".gitkeep").unlink()
    write_step(
        registry,
        tag,
        "gen",
        jobs=JOBS,
        exec="touch out.dat",
        outputs=[{"name": "data", "files": "out.dat"}],
    )
    commit_all(registry, "bench step")
    freeze(registry, tag)
    start = time.perf_counter()
    result = submit(
        registry,
        SubmitRequest("sP22aa/gen", workers=2),
        wait=lambda s, r: follow(s, r, quiet=True, interval=0.05),
    )
    ours = time.perf_counter() - start
    assert result.records[0].state == "done", result.records[0].state
    sandbox = registry.state_dir / "runs" / result.run_id / "render" / "sandbox"
    direct = tmp / "direct"
    for n in range(1, JOBS + 1):
        (direct / f"{n:04d}").mkdir(parents=True)
    script = f"cd {direct}/$(printf %04d $0) && bash {sandbox}/gen.sh $0 >/dev/null 2>&1"
    start = time.perf_counter()
    subprocess.run(f"seq 1 {JOBS} | xargs -P 2 -n 1 sh -c '{script}'", shell=True, check=True)
    theirs = time.perf_counter() - start
    print(
        f"{JOBS} trivial jobs, 2 workers: shrek submit {ours:.2f} s, xargs -P 2 "
        f"{theirs:.2f} s -> overhead {(ours - theirs) / JOBS * 1000:.1f} ms/job "
        "(target < 15 ms)"
    )


def big_history(registry: Registry) -> None:
    """HISTORY commits through git fast-import (seconds, not minutes)."""
    lines = []
    for n in range(HISTORY):
        data = f"entry {n}\n"
        lines += [
            "commit refs/heads/main",
            f"committer bench <b@x> {1_600_000_000 + n} +0000",
            "data 7",
            "history",
        ]
        if n == 0:
            lines.append("from refs/heads/main^0")
        lines += ["M 644 inline history/log.txt", f"data {len(data)}", data.rstrip("\n")]
    stream = "\n".join(lines) + "\n"
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=registry.root, input=stream.encode(), check=True
    )
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=registry.root, check=True)


def workflow_submit(tmp: Path) -> None:
    registry = Registry.open(init_registry(tmp / "history"))
    big_history(registry)
    count = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"],
        cwd=registry.root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tag = new_tag(registry, label="sP22aa", build="local").name
    (registry.tag_dir(tag) / "job" / ".gitkeep").unlink()
    out = {"outputs": [{"name": "data", "files": "out.dat"}], "exec": "touch out.dat"}
    write_step(registry, tag, "signal", jobs=1, **out)
    write_step(registry, tag, "minbias", jobs=5, **out)
    write_step(
        registry,
        tag,
        "pileup",
        inputs=[
            {"dataset": "signal.data", "files_per_job": 1},
            {"dataset": "minbias.data", "files_per_job": 5, "secondary": True},
        ],
        **out,
    )
    write_step(registry, tag, "tracking", inputs=[{"dataset": "pileup.data"}], **out)
    commit_all(registry, "bench workflow")
    freeze(registry, tag)
    timings = []
    for attempt in range(3):
        start = time.perf_counter()
        result = submit(registry, SubmitRequest("sP22aa", again=attempt > 0, detach=True))
        timings.append(time.perf_counter() - start)
        assert len(result.records) == 4
        deadline = time.monotonic() + 60  # let the jobs finish before the next round
        while time.monotonic() < deadline:
            from shrek.ops.status import refresh

            if all(r.state == "done" for r in refresh(registry, tag).records):
                break
            time.sleep(0.1)
    assert len(load_records(registry.tag_dir(tag))) == 12
    print(
        f"submit --detach of a 4-step workflow, registry with {count} commits: "
        f"median {sorted(timings)[1]:.2f} s (runs: {', '.join(f'{t:.2f}' for t in timings)};"
        " target < 1 s)"
    )


def main() -> None:
    identity()
    with tempfile.TemporaryDirectory() as name:
        trivial_jobs(Path(name))
        workflow_submit(Path(name))


if __name__ == "__main__":
    main()
