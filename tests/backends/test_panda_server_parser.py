"""panda-server's own workflow parser on SHREK's generated CWL (offline, no server needed).

CI installs panda-server without its service dependencies (make install-panda-server); the
test refuses to pass silently where it is missing under CI.
"""

from __future__ import annotations

import json
import os
import re
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
    """Skip (fail in CI) where panda-server's workflow parser is not installed. Asked of a new
    interpreter, as the parser runs: once panda-client is imported in this one, it answers
    to the name ``pandaserver`` too."""
    found = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; print(u.find_spec('pandaserver'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if found.strip() == "None":
        if os.environ.get("CI"):
            pytest.fail("panda-server is not installed: run 'make install-panda-server'")
        pytest.skip("panda-server is not installed (make install-panda-server)")


@pytest.fixture
def chain(runnable: Registry) -> Registry:
    # above 4000 MB per core prun asks "are you sure?": SHREK must answer with -y
    write_hf_chain(runnable, background=True, tracking_memory_mb=6000)
    return runnable


def parse_with_panda_server(
    registry: Registry, target: str, tmp_path: Path, base: str
) -> dict[str, dict]:
    """Render ``target`` and run panda-server's own parser on its CWL: the tasks by name."""
    _require_panda_server()
    render_target(registry, target, tmp_path / "render")
    work = tmp_path / "parse"
    shutil.copytree(tmp_path / "render" / "sandbox", work)  # the parser writes beside the CWL
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
    return {t["name"]: t for t in json.loads(run.stdout.strip().splitlines()[-1])}


def test_panda_servers_parser_accepts_the_chain(chain: Registry, tmp_path: Path) -> None:
    base = "user.jdoe.sP22aa-local.s0001"
    tasks = parse_with_panda_server(chain, "sP22aa", tmp_path, base)
    names = {
        step: f"{base}_{n:03d}_{step}"
        for n, step in enumerate(["minbias", "signal", "pileup", "tracking"])
    }
    assert sorted(tasks) == sorted(names.values())
    assert all(t["ok"] for t in tasks.values()), [t["message"] for t in tasks.values()]
    pileup = tasks[names["pileup"]]
    assert pileup["parents"] == sorted([names["signal"], names["minbias"]])
    assert tasks[names["tracking"]]["parents"] == [names["pileup"]]
    cli = pileup["cliParams"].replace("'", "")  # shlex quotes the # of a stream
    assert f"--inDS {names['signal']}_events/" in cli
    assert (
        f"IN2#5#{names['minbias']}_events/,IN3#2#mdc2.background/" in cli
        or f"IN2#5#{names['minbias']}_events/,IN3#2#mdc2.background" in cli
    )
    assert "--reusableSecondary IN2,IN3" in cli and "%{" not in cli
    assert "bash pileup.sh %RNDM:0 %IN %IN2 %IN3" in cli
    assert "--nJobs 5" in tasks[names["minbias"]]["cliParams"]
    tracking = tasks[names["tracking"]]["cliParams"]
    assert "--memory 6000" in tracking and " -y " in tracking


# -- the 2022 productions, imported ------------------------------------------------------------

IMPORTS = Path(__file__).resolve().parent.parent / "ops" / "data" / "shrek2022"


def _by_step(tasks: dict[str, dict], base: str, steps: list[str]) -> dict[str, dict]:
    """The tasks by SHREK step name (task names are <base>_NNN_<step>)."""
    found = {}
    for name, task in tasks.items():
        step = name.removeprefix(base + "_").split("_", 1)[1]
        found[step] = {**task, "task": name, "cli": task["cliParams"].replace("'", "")}
    assert sorted(found) == sorted(steps)
    assert all(t["ok"] for t in found.values()), [t["message"] for t in found.values()]
    return found


def test_the_imported_hf_chain_is_what_its_2022_files_said(
    registry: Registry, tmp_path: Path
) -> None:
    from shrek.ops.importer import ImportRequest, import_2022

    _require_panda_server()
    imported = import_2022(registry, ImportRequest(IMPORTS / "hf", build="mdc2.8", year=22))
    base = f"user.jdoe.{imported.tag}.s0001"
    tasks = parse_with_panda_server(registry, imported.tag, tmp_path, base)
    sim, pileup, merge, tracking = (
        "pythia8-charm-simulation",
        "pythia8-charm-pileup",
        "pythia8-charm-merge",
        "pythia8-charm-tracking",
    )
    t = _by_step(tasks, base, [sim, pileup, merge, tracking])
    assert t[sim]["parents"] == [] and "--nJobs 4" in t[sim]["cli"]
    assert "--maxAttempt 1" in t[sim]["cli"] and "--memory 2000" in t[sim]["cli"]
    assert "--forceStaged" not in t[sim]["cli"]  # no inputs
    assert t[pileup]["parents"] == [t[sim]["task"]]
    assert f"--inDS {t[sim]['task']}_outds/" in t[pileup]["cli"]
    assert "--nFilesPerJob 1" in t[pileup]["cli"]
    assert "--secondaryDSs IN2#2#mdc2.pythia8_pp_mb.g4hits/" in t[pileup]["cli"]
    assert "--reusableSecondary IN2" in t[pileup]["cli"]
    assert "--maxAttempt 3" in t[pileup]["cli"] and "--memory 4000" in t[pileup]["cli"]
    assert t[merge]["parents"] == sorted([t[pileup]["task"], t[sim]["task"]])
    assert "--nFilesPerJob 2" in t[merge]["cli"]
    assert (
        f"--secondaryDSs IN2#2#{t[sim]['task']}_outds/,IN3#1#mdc2.calib.constants"
        in t[merge]["cli"]
    )
    assert "--reusableSecondary IN3" in t[merge]["cli"]  # IN2 is read once, as in 2022
    assert "--site BNL_OSG_SPHENIX" in t[merge]["cli"]
    assert t[tracking]["parents"] == [t[merge]["task"]]
    assert "--nFiles 2" in t[tracking]["cli"] and "--nFilesPerJob 1" in t[tracking]["cli"]
    for name in (pileup, merge, tracking):
        assert "--forceStaged" in t[name]["cli"]


def test_the_imported_five_step_chain_is_what_its_2022_files_said(
    registry: Registry, tmp_path: Path
) -> None:
    from shrek.ops.importer import ImportRequest, import_2022

    _require_panda_server()
    imported = import_2022(registry, ImportRequest(IMPORTS / "chain5", build="mdc2.7", year=22))
    base = f"user.jdoe.{imported.tag}.s0001"
    tasks = parse_with_panda_server(registry, imported.tag, tmp_path, base)
    steps = ["make-signal", "make-background-1", "make-background-2", "pre-mix", "combine"]
    t = _by_step(tasks, base, steps)
    signal = (
        "mc16_valid:mc16_valid.900248.PG_singlepion_flatPt2to50.simul.HITS."
        "e8312_s3238_tid26378578_00"
    )
    assert f"--inDS {signal}" in t["make-signal"]["cli"]
    assert "mc16_5TeV.361238" in t["make-background-1"]["cli"]
    assert "--nJobs 3" in t["make-background-2"]["cli"]
    assert t["pre-mix"]["parents"] == sorted(
        [t["make-signal"]["task"], t["make-background-1"]["task"]]
    )
    assert "--maxAttempt 2" in t["pre-mix"]["cli"]
    assert f"IN2#1#{t['make-background-1']['task']}_outds/" in t["pre-mix"]["cli"]
    assert t["combine"]["parents"] == sorted(
        [t["make-signal"]["task"], t["pre-mix"]["task"], t["make-background-2"]["task"]]
    )
    combine = t["combine"]["cli"]
    assert f"--inDS {t['make-signal']['task']}_outds/" in combine
    assert (
        f"--secondaryDSs IN2#2#{t['pre-mix']['task']}_outds/,"
        f"IN3#5#{t['make-background-2']['task']}_outds/" in combine
    )
    assert "--reusableSecondary" not in combine  # 2022's merge read its streams once
    assert "--exec bash combine.sh %RNDM:0 %IN %IN2 %IN3 " in combine


def test_the_imported_two_to_one_chain_is_what_its_2022_files_said(
    registry: Registry, tmp_path: Path
) -> None:
    """The original project's simple-chain-2to1: two generators, one step reading both."""
    from shrek.ops.importer import ImportRequest, import_2022

    _require_panda_server()
    imported = import_2022(
        registry, ImportRequest(IMPORTS / "simple-2to1", build="mdc2.7", year=22)
    )
    base = f"user.jdoe.{imported.tag}.s0001"
    tasks = parse_with_panda_server(registry, imported.tag, tmp_path, base)
    t = _by_step(tasks, base, ["top1", "top2", "bottom"])
    assert "--nJobs 1" in t["top1"]["cli"]  # 'top1.njobs', filled in at submission in 2022
    assert "--nJobs 5" in t["top2"]["cli"]
    assert t["bottom"]["parents"] == sorted([t["top1"]["task"], t["top2"]["task"]])
    assert f"--inDS {t['top1']['task']}_outds/" in t["bottom"]["cli"]
    assert f"--secondaryDSs IN2#1#{t['top2']['task']}_outds/" in t["bottom"]["cli"]
    assert "--forceStaged" in t["bottom"]["cli"] and "--maxAttempt 1" in t["bottom"]["cli"]


def test_the_imported_seven_step_hf_chain_is_what_its_2022_files_said(
    registry: Registry, tmp_path: Path
) -> None:
    """The original project's workflows/HF_pp200_signal: what its files gave 2022's tool for
    each task (parents, job counts, streams, attempts, memory), as panda-server reads it."""
    from shrek.ops.importer import ImportRequest, import_2022

    _require_panda_server()
    imported = import_2022(
        registry,
        ImportRequest(
            IMPORTS / "hf-pp200-signal",
            build="mdc2.8",
            year=22,
            resources_root=IMPORTS / "checkout",
        ),
    )
    base = f"user.jdoe.{imported.tag}.s0001"
    tasks = parse_with_panda_server(registry, imported.tag, tmp_path, base)
    charm, minb, pileup = (
        "pythia8-charm-simulation",
        "pythia8-minb-simulation",
        "pythia8-charm-pileup",
    )
    pass3, pass4, calo, merge = (
        "pythia8-pass3-track",
        "pythia8-pass4-track",
        "pythia8-calorimeter",
        "merge-outputs",
    )
    t = _by_step(tasks, base, [charm, minb, pileup, pass3, pass4, calo, merge])
    assert t[charm]["parents"] == [] and t[minb]["parents"] == []
    assert "--nJobs 10" in t[charm]["cli"] and "--nJobs 50" in t[minb]["cli"]
    for name in (charm, minb):
        assert "--maxAttempt 3" in t[name]["cli"] and "--memory 8192" in t[name]["cli"]
        assert "--forceStaged" not in t[name]["cli"]
    assert t[pileup]["parents"] == sorted([t[charm]["task"], t[minb]["task"]])
    assert f"--inDS {t[charm]['task']}_outds/" in t[pileup]["cli"]
    assert f"--secondaryDSs IN2#5#{t[minb]['task']}_outds/" in t[pileup]["cli"]
    assert "--reusableSecondary IN2" in t[pileup]["cli"]
    assert "--maxAttempt 5" in t[pileup]["cli"] and "--nJobs" not in t[pileup]["cli"]
    assert t[pass3]["parents"] == [t[pileup]["task"]] == t[calo]["parents"]
    assert t[pass4]["parents"] == [t[pass3]["task"]]
    assert t[merge]["parents"] == sorted([t[calo]["task"], t[pass4]["task"]])
    assert f"--inDS {t[calo]['task']}_outds/" in t[merge]["cli"]
    assert f"--secondaryDSs IN2#1#{t[pass4]['task']}_outds/" in t[merge]["cli"]
    assert "--reusableSecondary" not in t[merge]["cli"]
    for name in (pileup, pass3, pass4, calo, merge):
        assert "--nFilesPerJob 1" in t[name]["cli"] and "--forceStaged" in t[name]["cli"]


def test_an_imported_file_filter_reaches_panda_as_2022_gave_it(
    registry: Registry, tmp_path: Path
) -> None:
    """workflows/prodemu: both inputs are scope:name datasets with a file filter; panda-server's
    parser reads the primary's as --match and the secondary stream's as its pattern."""
    from shrek.ops.importer import ImportRequest, import_2022

    _require_panda_server()
    imported = import_2022(
        registry,
        ImportRequest(
            IMPORTS / "prodemu", build="mdc2.8", year=22, resources_root=IMPORTS / "checkout"
        ),
    )
    base = f"user.jdoe.{imported.tag}.s0001"
    tasks = parse_with_panda_server(registry, imported.tag, tmp_path, base)
    (task,) = _by_step(tasks, base, ["bob-the-calorimeter"]).values()
    assert "--inDS group.sphenix:mdc2.rawdata.junk.rhic2023-03-29" in task["cli"]
    assert "--match *00000273*.evt" in task["cli"]
    stream = "--secondaryDSs IN2#1#group.sphenix:mdc2.shijing_hepmc.fm_0_20.g4hits.run0006"
    assert re.search(re.escape(stream) + r"/?#\.\*\\\.root ", task["cli"]), task["cli"]


@pytest.mark.parametrize(
    ("workflow", "expected"),
    [
        (  # three generator tasks read by one job: 40, 20 and 1 files of each
            "runprocessor",
            {
                "trackers": ([], "--nJobs 40"),
                "calorimeters": ([], "--nJobs 20"),
                "triggers": ([], "--nJobs 1"),
                "runprocessor": (["trackers", "calorimeters", "triggers"], "--nFilesPerJob 40"),
            },
        ),
        (
            "simple-chain-regexds",
            {"top": ([], "--nJobs 10"), "bottom": (["top"], "--nFilesPerJob 1")},
        ),
    ],
)
def test_more_imported_2022_sets_are_what_their_files_said(
    registry: Registry, tmp_path: Path, workflow: str, expected: dict
) -> None:
    from shrek.ops.importer import ImportRequest, import_2022

    _require_panda_server()
    imported = import_2022(registry, ImportRequest(IMPORTS / workflow, build="mdc2.8", year=22))
    base = f"user.jdoe.{imported.tag}.s0001"
    t = _by_step(parse_with_panda_server(registry, imported.tag, tmp_path, base), base, expected)
    for step, (parents, option) in expected.items():
        assert t[step]["parents"] == sorted(t[p]["task"] for p in parents)
        assert option in t[step]["cli"]
    if workflow == "runprocessor":
        streams = f"IN2#20#{t['calorimeters']['task']}_outds/,IN3#1#{t['triggers']['task']}_outds/"
        assert f"--secondaryDSs {streams}" in t["runprocessor"]["cli"]
        assert "--reusableSecondary" not in t["runprocessor"]["cli"]  # 2022: read once
