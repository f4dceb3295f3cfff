"""Ctrl-C tells the truth and always exits 130: before the backend was called nothing is sent
and the journal is closed; after, the local jobs are killed and recorded ``killed``; git never
sees the Ctrl-C. A real SIGINT goes to the command's whole process group, as a terminal sends it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode
from tests.conftest import git
from tests.ops.conftest import DEMO_TAG as TAG
from tests.ops.conftest import cli, edit_step, run_processes


def _slow(registry: Registry, seconds: int = 30) -> None:
    edit_step(registry, "demo-pass1", "exec: python3", f"exec: sleep {seconds}; python3")


def _settled(registry: Registry) -> None:
    """What every interrupted command must leave: after one 'shrek status', a clean tree, no
    lock, no record in 'submitting', git's objects intact."""
    assert not (registry.root / ".git" / "index.lock").exists()
    status = cli(registry, "status")
    assert "Traceback" not in status.stderr, status.stderr
    assert git(registry.root, "status", "--porcelain") == ""
    assert all(r.state != "submitting" for r in load_records(registry.tag_dir(TAG)))
    git(registry.root, "fsck", "--no-progress")


def test_ctrl_c_before_the_backend_is_called_sends_nothing(demo: Registry) -> None:
    done = cli(
        demo,
        "submit",
        "sP22aa/demo-pass1",
        env={"SHREK_FAULT_POINT": "after-journal", "SHREK_FAULT_SIGNAL": "INT"},
    )
    assert done.returncode == ExitCode.INTERRUPTED, done.stderr
    assert "nothing was submitted; the journal is closed ('abandoned')" in done.stderr
    assert "Traceback" not in done.stderr
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "abandoned"
    assert not (demo.state_dir / "runs" / record.data["ids"]["request"] / "state.json").exists()
    subject = git(demo.root, "log", "-1", "--format=%s")
    assert subject.startswith(f"shrek: submission interrupted before it was sent: {TAG}")
    _settled(demo)


def test_ctrl_c_after_the_backend_accepted_kills_and_records_it(demo: Registry) -> None:
    _slow(demo)
    done = cli(
        demo,
        "submit",
        "sP22aa/demo-pass1",
        "--detach",
        env={"SHREK_FAULT_POINT": "after-backend", "SHREK_FAULT_SIGNAL": "INT"},
    )
    assert done.returncode == ExitCode.INTERRUPTED, done.stderr
    assert "killed the local run" in done.stderr
    assert "the records say so and are committed (demo-pass1 #0001 killed)" in done.stderr
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "killed"
    assert [h["state"] for h in record.data["history"]] == ["submitting", "submitted", "killed"]
    assert run_processes(demo) == []
    _settled(demo)


def test_ctrl_c_while_following_kills_the_jobs(demo: Registry) -> None:
    _slow(demo)
    process = subprocess.Popen(
        [sys.executable, "-m", "shrek", "submit", "sP22aa/demo-pass1"],
        cwd=demo.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while "shrek: submit " not in git(demo.root, "log", "-1", "--format=%s"):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == ExitCode.INTERRUPTED, err
    # following ("the jobs of run … were killed"), or — when the Ctrl-C lands in the instant
    # between the commit and the end of the hand-over — the hand-over's own stop
    assert "killed" in err and "the records say so and are committed" in err
    assert "Traceback" not in err
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "killed"
    assert run_processes(demo) == []
    _settled(demo)


def test_ctrl_c_at_any_moment_leaves_a_true_record(demo: Registry) -> None:
    """Ctrl-C at random moments of 'submit' (guards, journal, git commits, hand-over,
    following): every time an exit of 0 or 130 without a traceback, and what it leaves is
    settled by the next 'status' — never a number or a dataset name handed out twice."""
    _slow(demo, 2)
    generator = random.Random(14)
    codes = []
    for trial in range(6):
        process = subprocess.Popen(
            [sys.executable, "-m", "shrek", "submit", "sP22aa/demo-pass1", "--again"],
            cwd=demo.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        time.sleep(generator.uniform(0.2, 1.6))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=90)
        assert process.returncode in (0, ExitCode.INTERRUPTED), (trial, err)
        codes.append(process.returncode)
        assert "Traceback" not in err, (trial, err)
        _settled(demo)
    assert ExitCode.INTERRUPTED in codes  # the trials did interrupt
    assert run_processes(demo) == []
    records = load_records(demo.tag_dir(TAG))
    ranges = [(r.data["sequences"]["demo-pass1"]["first"], r.number) for r in records]
    assert len({first for first, _ in ranges}) == len(ranges)
    assert cli(demo, "validate").returncode == 0
