"""Fixtures of the operations' tests: the demo production, ready to submit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shrek.catalogs.factory import open_catalog
from shrek.core.registry import Registry
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.plan import SubmitRequest
from shrek.ops.submit import submit
from shrek.ops.tag import TagRequest, new_tag
from shrek.ops.watch import Watch
from tests.conftest import git

DEMO_TAG = "sP22aa-local"
BACKGROUND = "demo.minbias.background"


@pytest.fixture
def demo(registry: Registry, tmp_path: Path) -> Registry:
    """The demo template tag with its background registered, frozen and committed."""
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local", template="demo"))
    background = tmp_path / "background"
    background.mkdir()
    for n in range(1, 4):
        (background / f"mb_{n}.txt").write_text(f"# background {n}\nminbias {n} 0 0 0\n")
    add_files(open_catalog(registry), BACKGROUND, sorted(background.iterdir()))
    freeze(registry, DEMO_TAG)
    return registry


def edit_step(registry: Registry, step: str, old: str, new: str, *, refreeze: bool = True) -> None:
    """Change a step of the (unsubmitted) demo tag: drop the freeze, edit, commit, refreeze."""
    tag_dir = registry.tag_dir(DEMO_TAG)
    (tag_dir / "freeze.yaml").unlink(missing_ok=True)
    path = tag_dir / "job" / f"{step}.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "-qm", f"test: edit {step}")
    if refreeze:
        freeze(registry, DEMO_TAG)


def cli(
    registry: Registry, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``shrek`` as its own process, in its own session (a process group, as a terminal
    gives a command: a Ctrl-C it simulates reaches its group, never the test run)."""
    return subprocess.run(
        [sys.executable, "-m", "shrek", *args],
        cwd=registry.root,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        start_new_session=True,
    )


def run_processes(registry: Registry) -> list[int]:
    """Processes still running in this registry's local runs: runners and their jobs (found by
    their working directory or command line under ``.shrek/runs``)."""
    runs = str(registry.state_dir / "runs")
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read()
        except OSError:
            continue
        if cwd.startswith(runs) or runs.encode() in command:
            found.append(int(pid))
    return found


def wait(watch: Watch) -> None:
    """Follow a local submission to its end, quietly and quickly (tests' ``submit(wait=)``)."""
    watch.interval = 0.05
    for _ in watch.updates():
        pass


@pytest.fixture
def produced(demo: Registry) -> Registry:
    """The demo production run: pass1 done, pass2 failing in every job with a reason."""
    edit_step(
        demo,
        "demo-pass2",
        "  python3 bin/merge.py",
        "  echo 'cannot open Fun4All_G4_Pileup_pp.C' >&2; exit 3\n  python3 bin/merge.py",
    )
    submit(demo, SubmitRequest("sP22aa/demo-pass1"), wait=wait)
    submit(demo, SubmitRequest("sP22aa/demo-pass2"), wait=wait)
    return demo
