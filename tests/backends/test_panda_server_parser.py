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

from shrek.core.registry import Registry
from shrek.ops.render import render_target
from tests.conftest import write_hf_chain

from .pandastub import make_token

HELPER = Path(__file__).resolve().parent / "panda_server_parse.py"


def _require_panda_server() -> None:
    if importlib.util.find_spec("pandaserver") is None:
        if os.environ.get("CI"):
            pytest.fail("panda-server is not installed: run 'make install-panda-server'")
        pytest.skip("panda-server is not installed (make install-panda-server)")


@pytest.fixture
def chain(runnable: Registry) -> Registry:
    # above 4000 MB per core prun asks "are you sure?": SHREK must answer with -y
    write_hf_chain(runnable, background=True, tracking_memory_mb=6000)
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
    tracking = tasks[names["tracking"]]["cliParams"]
    assert "--memory 6000" in tracking and " -y " in tracking
