"""SHREK against a real panda-server 1.0.4 on 127.0.0.1 (tests/panda_stack), each figure beside
panda-client's own call for the same work, in the same run:

- submit of one step: ``shrek submit TAG/STEP --backend panda --via prun`` as a process, beside
  a process that runs panda-client's ``execute_prun`` with the same arguments (the record's
  ``prun`` line, another output name) in the same sandbox: what SHREK adds around prun
  (journal, checks, render, commits). Goal: < 1.5 s more per submit.
- status of a tag with 100 tasks: ``shrek status TAG`` (one bulk request for every task, then one
  commit), beside a process that makes panda-client's ``get_tasks_detailed_info_since`` call
  for the same tasks. Goal: < 2 s more.

Skipped (with the reason) where the PanDA stack is not installed: make install-panda-stack.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from harness import SHREK, Timing, Verdicts, identity, run

from shrek.catalogs.factory import open_catalog
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.init import init_registry
from shrek.ops.tag import TagRequest, new_tag
from tests.backends.pandastub import make_token
from tests.panda_stack import stack as panda_stack

SUBMITS = 5
TASKS = 100
SUBMIT_GOAL_S = 1.5
STATUS_GOAL_S = 2.0

PRUN = """
import json, os, sys
from pandaclient import panda_api
os.chdir(sys.argv[1])
ok, dump = panda_api.get_api().execute_prun(json.loads(sys.argv[2]), console_log=False)
sys.exit(0 if ok and dump and dump.get("jediTaskID") else 1)
"""
SINCE = """
import sys
from pandaclient import Client
status, data = Client.get_tasks_detailed_info_since(since=sys.argv[1], filters=None, n_tasks=10000)
sys.exit(0 if status == 0 and len(data) >= int(sys.argv[2]) else 1)
"""


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _registry(root: Path, label: str) -> Registry:
    registry = Registry.open(init_registry(root))
    settings = registry.root / "shrek.yaml"
    settings.write_text(
        settings.read_text()
        + f"panda:\n  vo: sphenix\n  site: {panda_stack.QUEUE}\n  timeout_s: 120\n"
    )
    _git(registry.root, "commit", "-qam", "panda settings")
    registry = Registry.open(registry.root)
    new_tag(registry, TagRequest(label=label, skip_to=True, build="local", template="demo"))
    background = root.parent / f"{label}-minbias.txt"
    background.write_text("minbias\n")
    add_files(open_catalog(registry), "demo.minbias.background", [background])
    freeze(registry, f"{label}-local")
    return Registry.open(registry.root)


def _prun_like_shrek(registry: Registry, label: str, serial: int, env: dict[str, str]) -> Timing:
    """panda-client alone, with the arguments SHREK's latest record of ``label`` used."""
    record = load_records(registry.tag_dir(f"{label}-local"), "demo-pass1")[-1].data
    args = shlex.split(record["backend_details"]["prun"])[1:]
    args[args.index("--outDS") + 1] = f"user.jdoe.bench{serial}.{label}/"
    sandbox = next((registry.root / ".shrek/runs").glob("*/render/sandbox"))
    return run(
        [sys.executable, "-c", PRUN, str(sandbox), json.dumps(args)],
        registry.root,
        runs=1,
        env=env,
        check=True,
    )


def _submit(label: str, *extra: str) -> list[str]:
    return [*SHREK, "submit", f"{label}/demo-pass1", "--backend", "panda", "--via", "prun", *extra]


def _more(
    verdicts: Verdicts, what: str, ours: Timing, floor: Timing, goal_s: float, floor_name: str
) -> None:
    """Print what ``ours`` takes beyond panda-client doing the same work alone; the goal is a
    ceiling in seconds (the noise measured in the same run is printed beside)."""
    extra = ours.median_wall - floor.median_wall
    noise = max(ours.wall_noise, floor.wall_noise)
    ok = extra < goal_s
    print(
        f"{what}: {ours.median_wall:.2f} s; {floor_name}: {floor.median_wall:.2f} s -> "
        f"{extra:.2f} s more (goal < {goal_s} s; noise {noise:.2f})" + ("" if ok else "  MISSED")
    )
    if not ok:
        verdicts.missed.append(what)


def main() -> int:
    identity()
    verdicts = Verdicts()
    reason = panda_stack.unavailable()
    if reason:
        print(f"skipped: {reason}")
        return 0
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        running = panda_stack.start(tmp / "panda")
        try:
            env = {
                **running.client_environment(make_token("jdoe")),
                "PANDA_CONFIG_ROOT": str(tmp / ".pathena"),
            }
            os.environ.update(env)
            ours, floor = Timing([], []), Timing([], [])
            for index in range(SUBMITS):
                label = f"sP22{'abcdefgh'[index]}a"
                registry = _registry(tmp / label, label)
                one = run(_submit(label), registry.root, runs=1, env=env, check=True)
                ours.wall += one.wall
                ours.cpu += one.cpu
                alone = _prun_like_shrek(registry, label, index, env)
                floor.wall += alone.wall
                floor.cpu += alone.cpu
            _more(
                verdicts,
                "submit of one step to a real panda-server",
                ours,
                floor,
                SUBMIT_GOAL_S,
                "panda-client's prun alone",
            )

            label = "sP22za"
            registry = _registry(tmp / label, label)
            for _ in range(TASKS):
                subprocess.run(
                    _submit(label, "--again", "--detach"),
                    cwd=registry.root,
                    env={**os.environ, **env},
                    check=True,
                    capture_output=True,
                )
            records = load_records(registry.tag_dir(f"{label}-local"), "demo-pass1")
            assert len(records) == TASKS, len(records)
            deadline = time.monotonic() + 300
            registered = "SELECT count(*) FROM doma_panda.jedi_tasks"
            while running.count(registered) < 2 * SUBMITS + TASKS:  # ours, the floor's, the tag's
                assert time.monotonic() < deadline, "JEDI did not register the tasks"
                time.sleep(2)  # a task is listed once JEDI has registered it
            status = run([*SHREK, "status", label], registry.root, runs=3, env=env, check=True)
            # as SHREK's prefetch asks: a day before the oldest submission (JEDI moves a
            # task's modificationTime back by hours)
            oldest = min(
                datetime.strptime(r.data["submitted"]["at"], "%Y-%m-%dT%H:%M:%SZ") for r in records
            )
            since = (oldest - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
            bulk = run(
                [sys.executable, "-c", SINCE, since, str(TASKS)],
                registry.root,
                runs=3,
                env=env,
                check=True,
            )
            _more(
                verdicts,
                f"status of a tag with {TASKS} PanDA tasks",
                status,
                bulk,
                STATUS_GOAL_S,
                "panda-client's bulk request alone",
            )
        finally:
            running.stop()
    return verdicts.finish()


if __name__ == "__main__":
    sys.exit(main())
