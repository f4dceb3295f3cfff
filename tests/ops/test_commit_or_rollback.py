"""Commit-or-rollback for every committing command besides submit (issue 26): ``tag new``,
``freeze``, ``invalidate``, ``supersede`` and ``init`` stopped for real — SIGKILL, SIGTERM, or a
terminal's Ctrl-C (SIGINT to the process group) — after journalling, before and after their
commit (``SHREK_FAULT_POINT``, see ``shrek/interrupts.py``); SIGTERM ends Python as SIGKILL
does, so two TERM trials suffice. After each trial:

- the command ended as the signal says (130 for Ctrl-C), never with a traceback;
- a Ctrl-C never undoes a commit: what is in HEAD is in the working tree;
- run again, the same command finishes the job or says it was done, and then the change is
  committed exactly once, nothing is left uncommitted and ``validate`` passes.

``dataset add`` commits nothing (the local catalogue is an SQLite transaction); ``extend``
hands over through ``submit``'s own journal, the code ``test_fault_injection`` stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shrek.core.registry import Registry
from shrek.errors import ExitCode
from shrek.ops.pending import JOURNAL
from tests.conftest import git
from tests.ops.conftest import cli

NEW = "sP22ab-local"


def _prepare(registry: Registry, command: str, tmp_path: Path) -> tuple[tuple[str, ...], str]:
    """Bring the demo registry to where ``command`` has something to do: its arguments, and
    the subject its commit has."""
    if command == "tag new":
        return ("tag", "new", "sP22ab", "--from", "sP22aa"), f"shrek: new tag {NEW}"
    assert cli(registry, "tag", "new", "sP22ab", "--from", "sP22aa").returncode == 0
    if command == "freeze":
        return ("freeze", "sP22ab"), f"shrek: freeze {NEW}"
    assert cli(registry, "freeze", "sP22ab").returncode == 0
    if command == "supersede":
        return (
            ("supersede", "sP22aa", "--by", "sP22ab", "--reason", "wrong cuts"),
            f"shrek: supersede sP22aa-local by {NEW}",
        )
    if command == "invalidate":
        submitted = cli(registry, "submit", "sP22ab/demo-pass1")
        assert submitted.returncode == 0, submitted.stderr
        return (
            ("invalidate", f"{NEW}/demo-pass1/0001", "--reason", "bad calibration"),
            f"shrek: invalidate {NEW}/demo-pass1/0001",
        )
    assert command == "init"
    return ("init", str(tmp_path / "fresh")), "shrek: initialise production registry"


TRIALS = (
    [
        (command, point, nth, how)
        for command in ("tag new", "freeze", "invalidate", "supersede", "init")
        for point, nth in (("before-commit", 1), ("after-commit", 1))
        for how in ("KILL", "INT")
    ]
    + [(command, "after-pending", 2, "KILL") for command in ("tag new", "freeze", "invalidate")]
    + [(command, "before-commit", 1, "TERM") for command in ("tag new", "supersede")]
)


@pytest.mark.parametrize(
    "trial", TRIALS, ids=["-".join(map(str, t)).replace(" ", "-") for t in TRIALS]
)
def test_a_committing_command_stopped_anywhere_is_finished_by_running_it_again(
    demo: Registry, tmp_path: Path, trial: tuple[str, str, int, str]
) -> None:
    command, point, nth, how = trial
    arguments, subject = _prepare(demo, command, tmp_path)
    root = tmp_path / "fresh" if command == "init" else demo.root
    fault = {"SHREK_FAULT_POINT": point, "SHREK_FAULT_NTH": str(nth), "SHREK_FAULT_SIGNAL": how}
    stopped = cli(demo, *arguments, env=fault)
    expected = {"KILL": -signal.SIGKILL, "TERM": -signal.SIGTERM, "INT": ExitCode.INTERRUPTED}[how]
    assert stopped.returncode == expected, (stopped.returncode, stopped.stderr)
    assert "Traceback" not in stopped.stderr, stopped.stderr
    if how == "INT":  # Ctrl-C is held back around the commit: it lands after, and undoes nothing
        assert _made(root, subject) == 1
        assert git(root, "status", "--porcelain") == ""

    again = cli(demo, *arguments)
    assert "Traceback" not in again.stderr, again.stderr
    assert again.returncode in (0, ExitCode.CONFLICT, ExitCode.LIFECYCLE, ExitCode.NOTHING_TO_DO), (
        again.stderr
    )
    assert _made(root, subject) == 1, git(root, "log", "--format=%s")
    assert git(root, "status", "--porcelain") == ""
    assert not (root / ".shrek" / JOURNAL).exists()
    assert not list((root / "tags").glob(".*.new"))
    if how != "INT" and point != "after-commit":  # the re-run made the change, and said why
        assert "was interrupted before its commit" in again.stderr or command == "init"
    validated = subprocess.run(
        [sys.executable, "-m", "shrek", "validate"], cwd=root, capture_output=True, text=True
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr


def _made(root: Path, subject: str) -> int:
    """How many commits of the history start with ``subject``."""
    return sum(line.startswith(subject) for line in git(root, "log", "--format=%s").splitlines())


def test_a_kill_after_the_commit_is_reported_as_done(demo: Registry) -> None:
    assert cli(demo, "tag", "new", "sP22ab", "--from", "sP22aa").returncode == 0
    fault = {"SHREK_FAULT_POINT": "after-commit", "SHREK_FAULT_SIGNAL": "KILL"}
    assert cli(demo, "freeze", "sP22ab", env=fault).returncode == -signal.SIGKILL
    assert (demo.state_dir / JOURNAL).exists()  # killed before it could drop its journal
    again = cli(demo, "freeze", "sP22ab")
    assert again.returncode == 0, again.stderr
    assert "the interrupted 'shrek freeze sP22ab-local' had completed (commit " in again.stderr
    assert "already frozen" in again.stdout + again.stderr


def test_submit_after_an_interrupted_freeze_is_not_refused_as_dirty(demo: Registry) -> None:
    """The freeze files an interrupted freeze left used to make submit refuse the tree until
    a hand commit; a re-run of freeze now settles it and freezes."""
    assert cli(demo, "tag", "new", "sP22ab", "--from", "sP22aa").returncode == 0
    fault = {"SHREK_FAULT_POINT": "before-commit", "SHREK_FAULT_SIGNAL": "KILL"}
    assert cli(demo, "freeze", "sP22ab", env=fault).returncode == -signal.SIGKILL
    assert git(demo.root, "status", "--porcelain")  # freeze.yaml and friends, uncommitted
    refused = cli(demo, "submit", "sP22ab/demo-pass1")
    assert refused.returncode == ExitCode.DIRTY
    assert "an interrupted 'shrek freeze sP22ab-local' left: run it again" in refused.stderr
    assert cli(demo, "freeze", "sP22ab").returncode == 0
    submitted = cli(demo, "submit", "sP22ab/demo-pass1")
    assert submitted.returncode == 0, submitted.stderr


def test_ctrl_c_while_the_command_line_is_imported_exits_130_quietly(demo: Registry) -> None:
    fault = {"SHREK_FAULT_POINT": "startup", "SHREK_FAULT_SIGNAL": "INT"}
    stopped = cli(demo, "tag", "list", env=fault)
    assert stopped.returncode == ExitCode.INTERRUPTED, stopped.stderr
    assert stopped.stderr == "shrek: interrupted\n"


def test_ctrl_c_inside_a_finaliser_interrupts_quietly() -> None:
    """__del__ methods run Python code at any moment; a Ctrl-C landing in one was printed as
    'Exception ignored in: ... KeyboardInterrupt' and then lost."""
    script = (
        "import sys, time\n"
        "from shrek import entry\n"
        "sys.unraisablehook = entry._interrupt_in_a_finaliser\n"
        "class Finalised:\n"
        "    def __del__(self):\n"
        "        raise KeyboardInterrupt\n"
        "try:\n"
        "    Finalised()\n"
        "    time.sleep(5)\n"
        "    print('not interrupted')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert done.stdout == "interrupted\n" and done.stderr == "", done.stderr
