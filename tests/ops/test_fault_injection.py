"""Fault injection: ``submit``, ``status``, ``retry`` and ``kill`` stopped for real — SIGKILL,
SIGTERM, or SIGINT to the process group (a terminal's Ctrl-C) — before and after every commit
they make and around every backend call (``SHREK_FAULT_POINT``/``_NTH``/``_SIGNAL``, see
``shrek/interrupts.py``). After each trial, what must hold:

- the command ended as the signal says (130 for Ctrl-C), never with a traceback;
- no ``index.lock`` is left and ``git fsck`` is clean;
- after one ``shrek status``: no uncommitted SHREK file, no record left in ``submitting``;
- ``validate`` passes: no submission number, sequence range or dataset name handed out twice;
- the registry is not stuck: a new submission goes through and gets fresh numbers;
- no process is left behind once the runs are over (or killed).

Each parameter is one trial; the closing note of issue 14 gives the count per fault point.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from shrek.core.allocations import read_allocations
from shrek.core.records import ACTIVE, load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode
from tests.conftest import git
from tests.ops.conftest import DEMO_TAG as TAG
from tests.ops.conftest import cli, edit_step, run_processes

STEP = "sP22aa/demo-pass1"
SUBMIT_POINTS = [
    ("before-commit", 1),  # the journal's commit
    ("after-commit", 1),
    ("after-journal", 1),
    ("before-backend", 1),
    ("runner-started", 1),
    ("after-backend", 1),
    ("before-commit", 2),  # the commit of the backend's answer
    ("after-commit", 2),
]
TRIALS = (
    [("submit", point, nth, how) for point, nth in SUBMIT_POINTS for how in ("KILL", "INT")]
    + [("submit", "after-backend", 1, "TERM")]  # SIGTERM ends Python as SIGKILL does
    + [
        (command, point, 1, how)
        for command in ("status", "retry", "kill")
        for point in ("before-commit", "after-commit")
        for how in ("KILL", "INT")
    ]
)


def _ids(trial: tuple[str, str, int, str]) -> str:
    command, point, nth, how = trial
    return f"{command}-{point}-{nth}-{how}"


def _prepare(registry: Registry, command: str, marker: Path) -> tuple[str, ...]:
    """Bring the registry to where ``command`` has something to do; return its arguments."""
    if command == "submit":
        return ("submit", STEP, "--detach")
    if command == "status":
        assert cli(registry, "submit", STEP, "--detach").returncode == 0
        (record,) = load_records(registry.tag_dir(TAG))
        state = registry.state_dir / "runs" / record.data["ids"]["request"] / "state.json"
        deadline = time.monotonic() + 60
        while '"finished":null' in state.read_text() or not state.read_text():
            assert time.monotonic() < deadline  # the four small jobs end: status has a final
            time.sleep(0.05)  # state to record (and so a commit to be stopped at)
        return ("status",)
    if command == "retry":
        edit_step(registry, "demo-pass1", "exec: python3", f"exec: test -e {marker}; python3")
        edit_step(registry, "demo-pass1", "max_attempts: 2", "max_attempts: 1")
        assert cli(registry, "submit", STEP).returncode == ExitCode.BACKEND  # every job fails
        marker.touch()
        return ("retry", STEP)
    edit_step(registry, "demo-pass1", "exec: python3", "exec: sleep 30; python3")
    assert cli(registry, "submit", STEP, "--detach").returncode == 0
    return ("kill", "sP22aa")


@pytest.mark.parametrize("trial", TRIALS, ids=_ids)
def test_a_command_stopped_at_a_fault_point_leaves_a_true_registry(
    demo: Registry, tmp_path: Path, trial: tuple[str, str, int, str]
) -> None:
    command, point, nth, how = trial
    arguments = _prepare(demo, command, tmp_path / "fixed")
    environment = {
        "SHREK_FAULT_POINT": point,
        "SHREK_FAULT_NTH": str(nth),
        "SHREK_FAULT_SIGNAL": how,
    }
    done = cli(demo, *arguments, env=environment)
    expected = {"KILL": -signal.SIGKILL, "TERM": -signal.SIGTERM, "INT": ExitCode.INTERRUPTED}
    assert done.returncode == expected[how], (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert not (demo.root / ".git" / "index.lock").exists()
    git(demo.root, "fsck", "--no-progress", "--strict")

    # the next status settles it: nothing of SHREK's uncommitted, nothing left 'submitting'
    status = cli(demo, "status")
    assert "Traceback" not in status.stderr, status.stderr
    assert git(demo.root, "status", "--porcelain") == ""
    assert all(r.state != "submitting" for r in load_records(demo.tag_dir(TAG)))

    # not stuck, and no number handed out twice
    if any(r.state in ACTIVE for r in load_records(demo.tag_dir(TAG))):
        cli(demo, "kill", "sP22aa")
    slow = command == "kill"  # its step sleeps 30 s: submitted, then killed
    again = cli(demo, "submit", STEP, "--again", *(["--detach"] if slow else []))
    assert again.returncode == 0, again.stderr
    if slow:
        assert cli(demo, "kill", "sP22aa").returncode == 0
    assert git(demo.root, "status", "--porcelain") == ""
    validated = cli(demo, "validate")
    assert validated.returncode == 0, validated.stderr
    allocations, _ = read_allocations(demo.root)
    records = load_records(demo.tag_dir(TAG))
    assert len(allocations) == len(records)
    assert len({a.first for a in allocations}) == len(allocations)

    # no process left behind
    deadline = time.monotonic() + 30
    while run_processes(demo):
        assert time.monotonic() < deadline, run_processes(demo)
        time.sleep(0.1)
