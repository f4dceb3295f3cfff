"""Benchmarks of ``shrek submit`` as a user runs it (a new process), on registries with history.

1. The local backend's cost per job: 200 trivial jobs, 2 at a time, with a catalogue that
   already holds 100,000 files, beside the same rendered wrappers run by ``xargs -P 2`` (one
   working directory each) in the same run. Goal (issue 19): at most 10 ms per job over xargs.
2. ``submit --detach`` of a 4-step workflow (guards, render, records, two commits, runner
   start; not the jobs) after 100 earlier submissions of it (400 records) on a registry with
   5,000 commits, beside ``python -c "import yaml"`` in the same run. Goal (issue 32): CPU at
   most 7x that floor.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from harness import SHREK, SHREK_COMMAND, Timing, Verdicts, git_history, identity, run

from shrek.catalogs import DatasetFile
from shrek.catalogs.factory import open_catalog
from shrek.core.allocations import append_allocations, from_record, next_first, read_allocations
from shrek.core.registry import Registry
from shrek.ops.freeze import freeze
from shrek.ops.init import init_registry
from shrek.ops.status import refresh
from shrek.ops.tag import TagRequest, new_tag

JOBS = 200
CATALOGUED = 100_000
HISTORY = 5000
EARLIER = 100
SUBMITS = 5  # the timed submits, each beside three runs of the floor


def write_step(registry: Registry, tag: str, name: str, **fields: object) -> None:
    path = registry.tag_dir(tag) / "job" / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump({"name": name, "description": "bench", **fields}, sort_keys=False)
    )


def git(registry: Registry, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=registry.root, check=True, capture_output=True, text=True
    ).stdout


def commit_all(registry: Registry, message: str) -> None:
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", message)


def wait_done(registry: Registry, tag: str, timeout: float = 300) -> None:
    """Until every record of the tag has finished (untimed: the jobs are not the point)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(r.state == "done" for r in refresh(registry, tag).records):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the jobs of {tag} did not finish in {timeout} s")


def catalogue_history(registry: Registry) -> None:
    """100,000 files of earlier productions in the local catalogue."""
    files = [
        DatasetFile(f"old_{n:06d}.root", 1000 + n, "adler32:00000001", f"/store/old_{n:06d}.root")
        for n in range(CATALOGUED)
    ]
    catalog = open_catalog(registry)
    for chunk in range(0, CATALOGUED, 20_000):
        catalog.register(f"history.bulk{chunk // 20_000}", files[chunk : chunk + 20_000])


def local_jobs(verdicts: Verdicts, tmp: Path) -> None:
    registry = Registry.open(init_registry(tmp / "jobs"))
    tag = new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local")).name
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
    catalogue_history(registry)
    ours = Timing([], [])
    for attempt in range(3):
        again = ["--again"] if attempt else []
        one = run(
            [*SHREK, "submit", "sP22aa/gen", "--jobs", "2", "--quiet", *again],
            registry.root,
            runs=1,
        )
        ours.wall += one.wall
        ours.cpu += one.cpu
    records = refresh(registry, tag).records
    assert len(records) == 3 and all(r.state == "done" for r in records), [r.state for r in records]
    sandbox = sorted((registry.state_dir / "runs").glob("*/render/sandbox"))[-1]
    direct = tmp / "direct"

    def prepare() -> None:
        shutil.rmtree(direct, ignore_errors=True)
        for n in range(1, JOBS + 1):
            (direct / f"{n:04d}").mkdir(parents=True)

    script = f"cd {direct}/$(printf %04d $0) && bash {sandbox}/gen.sh $0 >/dev/null 2>&1"
    floor = Timing([], [])
    for _ in range(3):
        prepare()
        one = run(["sh", "-c", f"seq 1 {JOBS} | xargs -P 2 -n 1 sh -c '{script}'"], tmp, runs=1)
        floor.wall += one.wall
        floor.cpu += one.cpu
    verdicts.overhead(
        f"local backend, {JOBS} jobs, 2 at a time, catalogue of {CATALOGUED:,} files",
        ours,
        floor,
        JOBS,
        10.0,
        "xargs -P 2",
    )


def earlier_submissions(registry: Registry, tag: str) -> None:
    """Submission 1 of every step copied into submissions 2..EARLIER, each with its own
    number, registry-wide sequence range, dataset names and ledger line, as a long-running
    production accumulates them; committed."""
    submissions = registry.tag_dir(tag) / "submissions"
    taken, _ = read_allocations(registry.root)
    counter = next_first(taken, test=False)
    made = []
    for n in range(2, EARLIER + 1):
        for step_dir in sorted(submissions.iterdir()):
            first = (step_dir / "0001.yaml").read_text()
            data = yaml.safe_load(first)
            used = data["sequences"][step_dir.name]
            width = used["last"] - used["first"] + 1
            text = re.sub(r"^number: 1$", f"number: {n}", first, flags=re.M)
            text = text.replace(f"/{step_dir.name}/0001", f"/{step_dir.name}/{n:04d}")
            text = text.replace(".s0001", f".s{n:04d}")
            text = re.sub(
                rf"^(  {re.escape(step_dir.name)}:\n    first: )\d+\n    last: \d+$",
                rf"\g<1>{counter}\n    last: {counter + width - 1}",
                text,
                flags=re.M,
            )
            counter += width
            (step_dir / f"{n:04d}.yaml").write_text(text)
            made.append(from_record(yaml.safe_load(text), f"bench-{n}", "2026-01-01T00:00:00Z"))
    append_allocations(registry.root, [a for a in made if a is not None])
    commit_all(registry, f"bench: {EARLIER} earlier submissions")
    # each record was checked when 'shrek status' first read it, as in a real production
    run([*SHREK, "status", "--no-commit", "sP22aa"], registry.root, runs=1)


def workflow_history(tmp: Path) -> tuple[Registry, str]:
    """The 4-step workflow's registry: 5,000 commits, 100 submissions of the workflow (400
    records) made and checked; its tag."""
    registry = Registry.open(init_registry(tmp / "history"))
    git_history(registry.root, HISTORY, "history/log.txt")
    tag = new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local")).name
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
    run([*SHREK, "submit", "sP22aa", "--detach", "--quiet"], registry.root, runs=1)
    wait_done(registry, tag)
    earlier_submissions(registry, tag)
    return registry, tag


def workflow_submit(verdicts: Verdicts, tmp: Path) -> None:
    registry, tag = workflow_history(tmp)
    commits = git(registry, "rev-list", "--count", "HEAD").strip()
    # Each submit is timed on a quiet machine (the jobs of the one before have finished), and
    # the floor right after it: on a shared machine the speed drifts over a minute, and a
    # floor timed in one burst at the end would be measured at another speed.
    ours, floor = Timing([], []), Timing([], [])
    for _ in range(SUBMITS):
        one = run(  # the installed command, as a user types it
            [*SHREK_COMMAND, "submit", "sP22aa", "--again", "--detach", "--quiet"],
            registry.root,
            runs=1,
        )
        ours.wall += one.wall
        ours.cpu += one.cpu
        wait_done(registry, tag)
        beside = run([sys.executable, "-c", "import yaml"], registry.root, runs=3, check=True)
        floor.wall += beside.wall
        floor.cpu += beside.cpu
    records = list((registry.tag_dir(tag) / "submissions").glob("*/*.yaml"))
    assert len(records) == 4 * (EARLIER + SUBMITS), len(records)
    verdicts.ratio(
        f"submit --detach of 4 steps after {EARLIER} submissions ({commits} commits)",
        ours,
        floor,
        7.0,
        "python -c 'import yaml'",
    )
    runs = ", ".join(f"{t:.2f}" for t in ours.wall)
    print(f"  (runs: {runs} s; median {statistics.median(ours.wall):.2f})")


def main() -> int:
    identity()
    verdicts = Verdicts()
    with tempfile.TemporaryDirectory() as name:
        local_jobs(verdicts, Path(name))
        workflow_submit(verdicts, Path(name))
    return verdicts.finish()


if __name__ == "__main__":
    sys.exit(main())
