"""SHREK's PanDA backend against a real panda-server 1.0.4 and JEDI on 127.0.0.1.

Nothing here is a stand-in for PanDA: a private PostgreSQL cluster holds PanDA's own schema,
panda-server answers under gunicorn, JEDI turns tasks into jobs, a test pilot fetches them
through the real pilot API and runs SHREK's rendered wrappers, and the server's adder finishes
them (:mod:`tests.panda_stack`). SHREK is driven through the commands a user runs (``shrek
submit --backend panda``, ``status``, ``kill``, ``retry``), with the real panda-client.

What only the stand-in (tests/backends/pandastub.py) covers: OIDC token refresh and iDDS, which
do not run here; a workflow submission reaches the real parser and iDDS conversion
(``pchain --check``) and is then refused by this server, which has no iDDS.

Run alone: ``pytest -m panda_server``. Needs ``make install-panda-stack`` (root, for Debian's
PostgreSQL packages); elsewhere every test is skipped with the reason in one line.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from shrek.catalogs.factory import open_catalog
from shrek.core.records import Record, load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.init import init_registry
from shrek.ops.tag import TagRequest, new_tag
from tests.conftest import git
from tests.panda_stack import stack as panda_stack
from tests.panda_stack.pilot import Pilot, Ran

from .pandastub import make_token

pytestmark = pytest.mark.panda_server

TOKEN = make_token("jdoe")
DRIVE_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def panda(tmp_path_factory: pytest.TempPathFactory) -> Iterator[panda_stack.Stack]:
    reason = panda_stack.unavailable()
    if reason:
        if os.environ.get("SHREK_REQUIRE_PANDA_SERVER"):
            pytest.fail(f"the real PanDA stack is required here: {reason}")
        pytest.skip(reason)
    running = panda_stack.start(tmp_path_factory.mktemp("panda"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(panda: panda_stack.Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """panda-client's environment, as a user on this server has it."""
    for key, value in panda.client_environment(TOKEN).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PANDA_CONFIG_ROOT", str(tmp_path / ".pathena"))
    return panda


@pytest.fixture
def pilot(panda: panda_stack.Stack, tmp_path: Path) -> Pilot:
    return Pilot(panda.url, tmp_path / "pilot", panda.home / "storage")


def panda_registry(root: Path, label: str, *, url: str | None = None, **step: object) -> Registry:
    """A registry whose backend is this PanDA server, with the demo tag ``label`` frozen."""
    registry = Registry.open(init_registry(root))
    settings = registry.root / "shrek.yaml"
    server = f"  url: {url}\n  url_ssl: {url}\n  cache_url: {url}\n" if url else ""
    settings.write_text(
        settings.read_text()
        + f"panda:\n  vo: sphenix\n  site: {panda_stack.QUEUE}\n  timeout_s: 60\n"
        + server
    )
    git(registry.root, "commit", "-qam", "panda settings")
    registry = Registry.open(registry.root)
    new_tag(registry, TagRequest(label=label, skip_to=True, build="local", template="demo"))
    if step:
        path = registry.tag_dir(f"{label}-local") / "job/demo-pass1.yaml"
        data = yaml.safe_load(path.read_text())
        data.update(step)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        git(registry.root, "commit", "-qam", "step settings")
    background = root.parent / f"{label}-minbias.txt"
    background.write_text("minbias\n")
    add_files(open_catalog(registry), "demo.minbias.background", [background])
    freeze(registry, f"{label}-local")
    return Registry.open(registry.root)


def record_of(registry: Registry, label: str, step: str = "demo-pass1") -> Record:
    (record,) = load_records(registry.tag_dir(f"{label}-local"), step)
    return record


def committed_states(registry: Registry, record: Record) -> list[str]:
    """The record's state in each commit that changed it, oldest first."""
    relative = record.path.relative_to(registry.root)
    commits = git(registry.root, "log", "--format=%H", "--reverse", "--", str(relative)).split()
    return [
        yaml.safe_load(git(registry.root, "show", f"{commit}:{relative}"))["state"]
        for commit in commits
    ]


def drive(
    panda: panda_stack.Stack,
    pilot: Pilot,
    registry: Registry,
    shrek,
    label: str,
    until: set[str],
    *,
    lose_nodes: bool = False,
) -> tuple[Record, list[Ran]]:
    """Let JEDI, the pilot and the adder work, running ``shrek status`` as a user would,
    until the record reaches one of ``until``."""
    ran: list[Ran] = []
    deadline = time.monotonic() + DRIVE_TIMEOUT_S
    while True:
        panda.nudge_jedi()
        ran += pilot.run_all(lose_nodes=lose_nodes)
        if panda.count("SELECT count(*) FROM doma_panda.jobsactive4 WHERE jobstatus = 'holding'"):
            panda.run_adder()
        result = shrek("status", label, cwd=registry.root)
        assert result.code == 0, result.err
        record = record_of(registry, label)
        if record.state in until:
            return record, ran
        if time.monotonic() > deadline:
            task = panda.task(record.data["ids"].get("task", 0))
            raise AssertionError(
                f"{label} still {record.state} (task {task}) after {DRIVE_TIMEOUT_S} s\n"
                + panda.tail("panda-JobGenerator.log", 10)
            )
        time.sleep(2)


# -- a step through prun, to the end ---------------------------------------------------------


def test_a_prun_step_runs_to_done_on_the_real_server(client, pilot, tmp_path: Path, shrek):
    panda = client
    registry = panda_registry(tmp_path / "registry", "sP22aa")
    result = shrek(
        "submit", "sP22aa/demo-pass1", "--backend", "panda", "--via", "prun", cwd=registry.root
    )
    assert result.code == 0, result.err
    record = record_of(registry, "sP22aa")
    task_id = record.data["ids"]["task"]
    assert isinstance(task_id, int) and record.state == "submitted"
    base = "user.jdoe.sP22aa-local.s0001"
    assert record.data["backend_details"]["task_name"] == f"{base}/"  # prun's trailing '/'
    assert git(registry.root, "status", "--porcelain") == ""
    assert "shrek: submit sP22aa-local" in git(registry.root, "log", "-1", "--format=%s")

    record, ran = drive(panda, pilot, registry, shrek, "sP22aa", {"done", "partial", "failed"})

    assert record.state == "done", record.data["history"]
    assert record.data["jobs"] == {"total": 4, "done": 4, "failed": 0, "running": 0, "pending": 0}
    stored = panda.task(task_id)
    assert stored["status"] == "done" and stored["taskname"] == f"{base}/"
    assert stored["username"] == panda_stack.USER_NAME  # the certificate's CN, not 'jdoe'
    # the pilot ran SHREK's wrapper with the sequence numbers SHREK reserved (%RNDM)
    sequences = record.data["sequences"]["demo-pass1"]
    assert sorted(r.command for r in ran) == [
        f"bash demo-pass1.sh {n}" for n in range(sequences["first"], sequences["last"] + 1)
    ]
    assert all(r.exit_code == 0 for r in ran), [r.stdout for r in ran]
    for job in ran:
        (made,) = job.outputs.values()
        seed = int(job.command.split()[-1])
        assert f"seed {seed}" in job.stdout and made.read_text().strip()
    # every change status saw was committed, in order
    states = committed_states(registry, record)
    assert states[:2] == ["submitting", "submitted"] and states[-1] == "done"
    assert "running" in states
    assert git(registry.root, "status", "--porcelain") == ""


# -- kill and retry ---------------------------------------------------------------------------


def test_kill_is_recorded_when_panda_has_aborted_and_retry_shows_its_refusal(
    client, pilot, tmp_path: Path, shrek
):
    panda = client
    registry = panda_registry(tmp_path / "registry", "sP22ab")
    assert (
        shrek(
            "submit", "sP22ab/demo-pass1", "--backend", "panda", "--via", "prun", cwd=registry.root
        ).code
        == 0
    )
    task_id = record_of(registry, "sP22ab").data["ids"]["task"]
    deadline = time.monotonic() + DRIVE_TIMEOUT_S
    while not panda.task(task_id):  # the server knows a task once JEDI has registered it
        assert time.monotonic() < deadline
        time.sleep(1)

    killed = shrek("kill", "sP22ab/demo-pass1", cwd=registry.root)

    assert killed.code == 0, killed.err
    assert "kill requested for PanDA task(s)" in killed.out
    record = record_of(registry, "sP22ab")
    assert record.state in ("submitted", "running")  # asked, not yet done by PanDA
    record, _ = drive(panda, pilot, registry, shrek, "sP22ab", {"killed"})
    assert panda.task(task_id)["status"] == "aborted"
    assert committed_states(registry, record)[-1] == "killed"

    retried = shrek("retry", "sP22ab/demo-pass1", cwd=registry.root)

    assert retried.code == ExitCode.BACKEND
    assert re.search(
        rf"PanDA refused the retry: task {task_id}: code 4: .*not accepted.*aborted", retried.err
    ), retried.err
    assert git(registry.root, "status", "--porcelain") == ""


def test_a_failed_task_is_retried_where_panda_accepts_it(client, pilot, tmp_path: Path, shrek):
    panda = client
    registry = panda_registry(
        tmp_path / "registry", "sP22ag", jobs=1, requirements={"memory_mb": 512, "max_attempts": 1}
    )
    assert (
        shrek(
            "submit", "sP22ag/demo-pass1", "--backend", "panda", "--via", "prun", cwd=registry.root
        ).code
        == 0
    )
    record, ran = drive(
        panda, pilot, registry, shrek, "sP22ag", {"failed", "partial", "done"}, lose_nodes=True
    )
    assert record.state == "failed" and [r.exit_code for r in ran] == [137]
    task_id = record.data["ids"]["task"]

    retried = shrek("retry", "sP22ag/demo-pass1", "--memory", "1024", cwd=registry.root)

    assert retried.code == 0, retried.err  # the server's code 3: "reactivation accepted"
    assert f"retry requested for PanDA task(s) {task_id} with memory 1024 MB" in retried.out
    # until JEDI acts on the command the server may still say 'failed': status must not close
    # the record again (JEDI 1.0.4 on PostgreSQL may then stop in its own retry code: README)
    assert shrek("status", "sP22ag", cwd=registry.root).code == 0
    assert record_of(registry, "sP22ag").state == "running"
    assert git(registry.root, "status", "--porcelain") == ""


# -- refusals -----------------------------------------------------------------------------------


def test_a_duplicate_output_name_is_refused_and_the_record_closed(client, tmp_path: Path, shrek):
    """Two registries that both made sP22ad (no shared remote to settle it) ask for the same
    output container: the server refuses the second task."""
    first = panda_registry(tmp_path / "first", "sP22ad")
    second = panda_registry(tmp_path / "second", "sP22ad")
    args = ("submit", "sP22ad/demo-pass1", "--backend", "panda", "--via", "prun")
    assert shrek(*args, cwd=first.root).code == 0

    refused = shrek(*args, cwd=second.root)

    assert refused.code == ExitCode.BACKEND, refused.out
    # the server's words depend on how far JEDI got with the first task: still queued ("You
    # cannot submit duplicated tasks") or registered and active ("is in the ready state ...")
    said = re.compile(
        r"jediTaskID=\d+ is (already queued|in the \w+ state) for "
        r"outDS=user\.jdoe\.sP22ad-local\.s0001/"
    )
    assert said.search(refused.err), refused.err
    record = record_of(second, "sP22ad")
    assert record.state == "failed"
    assert said.search(record.data["history"][-1]["note"])
    assert git(second.root, "status", "--porcelain") == ""


def test_a_workflow_without_idds_is_checked_then_refused(client, tmp_path: Path, shrek):
    """pchain: the server's real parser and iDDS conversion check the whole tag; the submission
    then gets request_id=None (no iDDS here), which is no request at all."""
    registry = panda_registry(tmp_path / "registry", "sP22ae")

    refused = shrek("submit", "sP22ae", "--backend", "panda", cwd=registry.root)

    assert refused.code == ExitCode.BACKEND, refused.out
    assert "request_id=None" in refused.err and "iDDS" in refused.err
    for step in ("demo-pass1", "demo-pass2"):
        record = record_of(registry, "sP22ae", step)
        assert record.state == "failed"
        notes = " ".join(h.get("note", "") for h in record.data["history"])
        assert "made no request" in notes
    assert git(registry.root, "status", "--porcelain") == ""


def test_a_server_that_is_down_is_named_and_nothing_hangs(client, tmp_path: Path, shrek):
    down = f"http://127.0.0.1:{panda_stack.database.free_port()}/server/panda"
    registry = panda_registry(tmp_path / "registry", "sP22af", url=down)
    started = time.monotonic()

    refused = shrek(
        "submit", "sP22af/demo-pass1", "--backend", "panda", "--via", "prun", cwd=registry.root
    )

    assert time.monotonic() - started < 60
    assert refused.code == ExitCode.BACKEND, refused.out
    assert "nothing was submitted to PanDA" in refused.err
    assert record_of(registry, "sP22af").state == "failed"
    assert git(registry.root, "status", "--porcelain") == ""
