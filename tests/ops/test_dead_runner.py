"""No orphans: a local runner killed with SIGKILL leaves jobs that a later ``status`` finds —
it kills what is left of their process groups, collects the outputs of jobs that finished,
marks the others failed — and ``retry`` then completes the step. A submission killed right
after starting its runner is never called abandoned while the runner runs its jobs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

from shrek.backends.local.rundir import STATE
from shrek.catalogs.factory import open_catalog
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode
from tests.conftest import git
from tests.ops.conftest import DEMO_TAG as TAG
from tests.ops.conftest import cli, edit_step, run_processes

EVENTS = f"prod.{TAG}.demo-pass1.events.s0001"


def _slow_after_first(registry: Registry, seconds: int) -> None:
    """Job 1 ends at once; every other job sleeps first."""
    prefix = f'exec: test "${{SHREK_SEQ}}" = 1 || sleep {seconds}; python3'
    edit_step(registry, "demo-pass1", "exec: python3", prefix)


def _kill_the_runner_when(registry: Registry, ready, timeout: float = 60) -> tuple[str, dict]:
    """Submit detached, wait until ``ready(state)``, then SIGKILL the runner alone."""
    assert cli(registry, "submit", "sP22aa/demo-pass1", "--detach", "--jobs", "2").returncode == 0
    (record,) = load_records(registry.tag_dir(TAG))
    run = record.data["ids"]["request"]
    path = registry.state_dir / "runs" / run / STATE
    deadline = time.monotonic() + timeout
    while True:
        state = json.loads(path.read_text())
        if ready(state["steps"]["demo-pass1"]["jobs"]):
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.02)
    os.kill(state["pid"], signal.SIGKILL)
    return run, state


def _one_done_two_running(jobs: list[dict]) -> bool:
    states = [j["state"] for j in jobs]
    return states.count("done") == 1 and states.count("running") == 2


def test_status_kills_the_orphans_of_a_dead_runner_and_retry_completes(demo: Registry) -> None:
    _slow_after_first(demo, 30)
    _kill_the_runner_when(demo, _one_done_two_running)
    assert len(run_processes(demo)) >= 2  # its jobs run on without it
    status = cli(demo, "status", "--json")
    assert status.returncode == 0, status.stderr
    (row,) = json.loads(status.stdout)
    assert row["state"] == "partial"
    assert row["jobs"] == {"total": 4, "done": 1, "running": 0, "failed": 3, "pending": 0}
    assert run_processes(demo) == []  # no orphan left
    (record,) = load_records(demo.tag_dir(TAG))
    assert "the local runner (pid" in record.data["history"][-1]["note"]
    assert "2 leftover process(es) killed" in record.data["history"][-1]["note"]
    assert git(demo.root, "status", "--porcelain") == ""
    retried = cli(demo, "retry", "sP22aa/demo-pass1")
    assert retried.returncode == 0, retried.stderr
    assert "retrying 3 failed job(s)" in retried.stdout
    assert cli(demo, "kill", "sP22aa").returncode == 0  # (they sleep 30 s: not waited for)


def test_a_job_that_finished_after_its_runner_died_is_collected(demo: Registry) -> None:
    _slow_after_first(demo, 2)
    _kill_the_runner_when(demo, _one_done_two_running)
    deadline = time.monotonic() + 30
    while run_processes(demo):  # the two running jobs end on their own
        assert time.monotonic() < deadline
        time.sleep(0.1)
    status = cli(demo, "status", "--json")
    (row,) = json.loads(status.stdout)
    assert row["jobs"]["done"] == 3 and row["jobs"]["failed"] == 1, row
    names = [f.name for f in open_catalog(demo).files(EVENTS)]
    assert len(names) == 3  # the two collected after the runner died are catalogued
    retried = cli(demo, "retry", "sP22aa/demo-pass1")
    assert retried.returncode == 0, retried.stderr
    deadline = time.monotonic() + 60
    while load_records(demo.tag_dir(TAG))[0].state != "done":
        assert time.monotonic() < deadline
        cli(demo, "status")
        time.sleep(0.2)
    assert len(open_catalog(demo).files(EVENTS)) == 4


def test_kill_reaches_the_jobs_of_a_dead_runner(demo: Registry) -> None:
    _slow_after_first(demo, 30)
    _kill_the_runner_when(demo, _one_done_two_running)
    killed = cli(demo, "kill", "sP22aa")
    assert killed.returncode == 0, killed.stderr
    assert run_processes(demo) == []


def test_a_submit_killed_after_starting_its_runner_is_not_abandoned(demo: Registry) -> None:
    crashed = cli(demo, "submit", "sP22aa/demo-pass1", env={"SHREK_FAULT_POINT": "runner-started"})
    assert crashed.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 60
    while True:
        status = cli(demo, "status", "--json")
        assert status.returncode in (0, ExitCode.BACKEND), status.stderr
        (row,) = json.loads(status.stdout)
        assert row["state"] != "abandoned", row
        if row["state"] == "done":
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert len(open_catalog(demo).files(EVENTS)) == 4
    assert git(demo.root, "status", "--porcelain") == ""


def test_retry_after_the_working_state_is_gone_leaves_the_record_committed(
    demo: Registry, shrek
) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0  # over: no race
    shutil.rmtree(demo.state_dir)
    result = shrek("retry", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == ExitCode.BACKEND and "is gone from this machine" in result.err
    assert git(demo.root, "status", "--porcelain") == ""
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "failed" and "is gone" in record.data["history"][-1]["note"]


def test_a_runner_that_dies_before_it_runs_is_said_at_once(demo: Registry) -> None:
    """The runner says it is running on a pipe: one that dies first closes it, and submit
    says so at once (not after the 30 s it would wait for a runner still starting)."""
    started = time.monotonic()
    died = cli(demo, "submit", "sP22aa/demo-pass1", env={"SHREK_FAULT_POINT": "runner-start"})
    assert time.monotonic() - started < 20
    assert died.returncode == ExitCode.BACKEND, died.stderr
    assert "the local runner stopped at once" in died.stderr and "runner.log" in died.stderr
    again = cli(demo, "submit", "sP22aa/demo-pass1", "--again")
    assert again.returncode == 0, again.stderr


def test_a_stop_signal_that_comes_while_the_runner_holds_its_lock_ends_the_jobs(
    tmp_path,
) -> None:
    """A signal handler runs between two bytecodes of the main thread, which may be inside
    ``with runner.lock`` (saving the state, or handling a first SIGTERM when a second one
    comes). The handler must not wait for that lock: a runner did, forever, after a kill."""
    import subprocess
    import threading

    from shrek.backends.local.rundir import PLAN, write_json
    from shrek.backends.local.runner import Runner

    write_json(
        tmp_path / PLAN,
        {
            "run": "local-test",
            "catalog": str(tmp_path / "catalog.sqlite"),
            "store": str(tmp_path / "store"),
            "sandbox": str(tmp_path / "sandbox"),
            "sandbox_files": [],
            "steps": [],
        },
    )
    runner = Runner(tmp_path)
    job = subprocess.Popen(["sleep", "60"], start_new_session=True)
    runner.processes.add(job)
    handled = threading.Event()

    def signalled_inside_the_lock() -> None:
        with runner.lock:
            runner.terminate()
        handled.set()

    threading.Thread(target=signalled_inside_the_lock, daemon=True).start()
    try:
        assert handled.wait(10), "the stop handler waited for the lock its own thread held"
        assert job.wait(10) == -signal.SIGTERM
        assert runner.stop.is_set()
    finally:
        job.kill()
        job.wait()
