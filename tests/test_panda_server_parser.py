"""panda-server's own workflow parser on SHREK's generated CWL (offline, no server needed).

CI installs panda-server without its service dependencies (make install-panda-server); the
test refuses to pass silently where it is missing under CI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shrek.registry import Registry
from shrek.rendering import render_target

from .conftest import write_step
from .pandastub import make_token

HELPER = Path(__file__).resolve().parent / "panda_server_parse.py"


def _require_panda_server() -> None:
    if importlib.util.find_spec("pandaserver") is None:
        if os.environ.get("CI"):
            pytest.fail("panda-server is not installed: run 'make install-panda-server'")
        pytest.skip("panda-server is not installed (make install-panda-server)")


@pytest.fixture
def chain(runnable: Registry) -> Registry:
    common = {
        "requirements": {
            "memory_mb": 2048,
            "walltime_h": 24,
            "max_attempts": 1,
            "site": "BNL_OSG_SPHENIX",
        }
    }
    write_step(
        runnable,
        "signal",
        jobs=1,
        exec="touch signal.root",
        outputs=[{"name": "events", "files": "*.root"}],
        **common,
    )
    write_step(
        runnable,
        "minbias",
        jobs=5,
        exec="touch minbias.root",
        outputs=[{"name": "events", "files": "*.root"}],
        **common,
    )
    write_step(
        runnable,
        "pileup",
        inputs=[
            {"dataset": "signal.events", "files_per_job": 1},
            {"dataset": "minbias.events", "files_per_job": 5, "secondary": True},
            {"dataset": "mdc2.background", "files_per_job": 2, "secondary": True},
        ],
        exec="touch pileup.root",
        outputs=[{"name": "hits", "files": "pileup.root"}],
        **common,
    )
    write_step(
        runnable,
        "tracking",
        inputs=[{"dataset": "pileup.hits", "files_per_job": 1}],
        exec="touch dst.root",
        outputs=[{"name": "dst", "files": "dst.root"}],
        requirements={"memory_mb": 6000},
    )  # prun would ask "are you sure?": -y
    return runnable


def test_panda_servers_parser_accepts_the_chain(chain: Registry, tmp_path: Path) -> None:
    _require_panda_server()
    render_target(chain, "sP22aa", tmp_path / "render")
    work = tmp_path / "parse"
    shutil.copytree(tmp_path / "render" / "sandbox", work)  # the parser writes beside the CWL
    base = "user.jdoe.sP22aa-local.s0001"
    env = {
        **os.environ,
        "PANDA_URL": "http://127.0.0.1:1/server/panda",
        "PANDA_URL_SSL": "http://127.0.0.1:1/server/panda",
        "PANDACACHE_URL": "http://127.0.0.1:1/server/panda",
        "PANDA_BEHIND_REAL_LB": "1",
        "PANDA_AUTH": "oidc",
        "PANDA_AUTH_VO": "sphenix",
        "PANDA_AUTH_ID_TOKEN": make_token("jdoe"),
    }
    run = subprocess.run(
        [sys.executable, str(HELPER), str(work / "workflow.cwl"), str(work / "inputs.yaml"), base],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    tasks = {t["name"]: t for t in json.loads(run.stdout.strip().splitlines()[-1])}
    names = {
        step: f"{base}_{n:03d}_{step}"
        for n, step in enumerate(["minbias", "signal", "pileup", "tracking"])
    }
    assert sorted(tasks) == sorted(names.values())
    assert all(t["ok"] for t in tasks.values()), [t["message"] for t in tasks.values()]
    pileup = tasks[names["pileup"]]
    assert pileup["parents"] == sorted([names["signal"], names["minbias"]])
    assert tasks[names["tracking"]]["parents"] == [names["pileup"]]
    cli = pileup["cliParams"]
    assert f"--inDS {names['signal']}_events/" in cli
    assert (
        f"IN2:5:{names['minbias']}_events/,IN3:2:mdc2.background/" in cli
        or f"IN2:5:{names['minbias']}_events/,IN3:2:mdc2.background" in cli
    )
    assert "--reusableSecondary IN2,IN3" in cli and "%{" not in cli
    assert "'bash pileup.sh %RNDM:0 %IN %IN2 %IN3'" in cli
    assert "--nJobs 5" in tasks[names["minbias"]]["cliParams"]
    assert "--memory 6000 -y" in tasks[names["tracking"]]["cliParams"]
