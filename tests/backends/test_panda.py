"""The PanDA backend, driven through the real panda-client against a stand-in server.

The stand-in (pandastub.py) answers as panda-server 1.0.4 was seen to answer
(test_panda_real.py runs the same commands against the real server and JEDI). It stays for
what the real stack cannot do here, and each test below uses it for one of these:
- a workflow accepted through iDDS (the real server has no iDDS: request_id=None), and what
  follows from it (requests, task lookups by name, prefetch of many records);
- OIDC tokens: refresh, expiry, scopes and credentials kept out of git (the real server runs
  without token checks);
- faults the real server does not make on demand: a timeout, a 5xx, an unreadable answer, a
  crash after acceptance, tasks slow to appear, a refusal that quotes secrets;
- retry accepted and then taken up (JEDI 1.0.4 on PostgreSQL does not complete one).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml

from shrek.catalogs.factory import open_catalog
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.provenance import provenance
from shrek.ops.tag import TagRequest, new_tag
from tests.conftest import git

from .pandastub import PandaStub, make_token

TAG = "sP22aa-local"
TOKEN = make_token("jdoe")


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch):
    server = PandaStub().start()
    for key, value in server.environment(TOKEN).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PANDA_CONFIG_ROOT", str(Path(os.environ["HOME"]) / ".pathena"))
    yield server
    server.stop()


@pytest.fixture
def panda_registry(registry: Registry, stub: PandaStub, tmp_path: Path) -> Registry:
    settings = registry.root / "shrek.yaml"
    settings.write_text(
        settings.read_text()
        + (
            "panda:\n  vo: wlcg\n  prod_source_label: test\n  working_group: sphenix\n"
            "  monitor_url: https://panda.example.org\n  timeout_s: 20\n"
        )
    )
    git(registry.root, "commit", "-qam", "panda settings")
    registry = Registry.open(registry.root)
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local", template="demo"))
    background = tmp_path / "mb.txt"
    background.write_text("minbias\n")
    add_files(open_catalog(registry), "demo.minbias.background", [background])
    freeze(registry, TAG)
    return registry


def commit_all(registry: Registry) -> None:
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "-qm", "test edit")


# -- submit ----------------------------------------------------------------------------------


def test_workflow_submission_checked_then_submitted(panda_registry: Registry, stub, shrek):
    result = shrek("submit", "sP22aa", "--backend", "panda", cwd=panda_registry.root)
    assert result.code == 0, result.err
    endpoints = [e for e, _ in stub.calls]
    check_at = endpoints.index("put_workflow_request")
    assert endpoints.count("put_workflow_request") == 2 and check_at > 0  # check, then submit
    assert all(auth == f"Bearer {TOKEN}" for _, auth in stub.calls)
    (request,) = stub.requests.values()
    base = "user.jdoe.sP22aa-local.s0001"
    assert request["params"]["outDS"] == base
    tasks = {t["taskName"]: t for t in stub.tasks.values()}
    assert sorted(tasks) == [f"{base}_000_demo-pass1", f"{base}_001_demo-pass2"]
    assert tasks[f"{base}_001_demo-pass2"]["parents"] == [f"{base}_000_demo-pass1"]
    assert (
        "--inDS user.jdoe.sP22aa-local.s0001_000_demo-pass1_events/"
        in tasks[f"{base}_001_demo-pass2"]["cliParams"]
    )
    # the sandbox held exactly the manifest, and the origin file (the journal's commit)
    archive = stub.uploads[request["params"]["sandbox"]]
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = sorted(m.name.removeprefix("./") for m in tar.getmembers() if m.isfile())
    # pchain's 'find . | tar' may catch its own archive being written in its temporary
    # directory: panda-client's quirk, not a file of the tag; everything else is the manifest
    names = [n for n in names if not re.fullmatch(r"[0-9a-f-]{36}/jobO\.[0-9a-f-]+\.tar\.gz", n)]
    assert names == [
        "bin/generate.py",
        "bin/merge.py",
        "demo-pass1.sh",
        "demo-pass2.sh",
        "inputs.yaml",
        "prun.cwl",
        "shrek-origin.txt",
        "workflow.cwl",
    ]
    pass1, pass2 = load_records(panda_registry.tag_dir(TAG))
    assert pass1.state == "submitted" and pass1.data["ids"] == {"request": 77}
    details = pass1.data["backend_details"]
    assert details["task_name"] == f"{base}_000_demo-pass1"
    assert details["log_container"] == f"{base}_000_demo-pass1.log/"
    assert details["output_containers"] == {"events": f"{base}_000_demo-pass1_events/"}
    assert details["out_ds"] == base and details["vo"] == "wlcg"
    assert details["server"]["url_ssl"] == f"{stub.url}/server/panda"
    # the sandbox is identified by its content: the manifest digest of exactly the files sent
    assert pass1.data["commands"]["manifest_digest"].startswith("sha256:")
    assert "successfully submitted with request_id=77" in details["server_log"]
    assert details["prun"].startswith(
        f"prun --exec 'bash demo-pass1.sh %RNDM:0' --outDS {base}_000_demo-pass1"
    )
    assert pass1.data["backend"]["version"].startswith("panda-client ")
    assert pass2.data["datasets"]["inputs"]["demo-pass1.events"] == (
        f"{base}_000_demo-pass1_events/"
    )
    # provenance answers PanDA's and Rucio's spellings of the outputs, and a grid file's name
    container = f"{base}_000_demo-pass1_events/"
    scope = base.split(".s0001")[0].rsplit(".", 1)[0]
    for name in (
        container,
        f"{scope}:{container.rstrip('/')}",
        f"{container[:-1]}.$PandaID._1.txt",
    ):
        origin = provenance(panda_registry, name).origin
        assert origin is not None and origin.submission == pass1.data["id"], name
    assert origin.registry_commit == pass1.data["submitted"]["journal_commit"]
    # a second submission gets a new base, so task names never collide
    again = shrek(
        "submit", "sP22aa/demo-pass1", "--backend", "panda", "--again", cwd=panda_registry.root
    )
    assert again.code == 0, again.err
    assert (
        load_records(panda_registry.tag_dir(TAG), "demo-pass1")[1].data["backend_details"][
            "task_name"
        ]
        == "user.jdoe.sP22aa-local.s0002_000_demo-pass1"
    )


def test_single_step_through_prun(panda_registry: Registry, stub, shrek) -> None:
    result = shrek(
        "submit",
        "sP22aa/demo-pass1",
        "--backend",
        "panda",
        "--via",
        "prun",
        cwd=panda_registry.root,
    )
    assert result.code == 0, result.err
    (task,) = stub.tasks.values()
    assert task["taskName"] == "user.jdoe.sP22aa-local.s0001/"  # prun names tasks by container
    (record,) = load_records(panda_registry.tag_dir(TAG))
    assert record.data["ids"]["task"] == task["jediTaskID"]
    assert "put_workflow_request" not in [e for e, _ in stub.calls]
    refused = shrek(
        "submit",
        "sP22aa",
        "--backend",
        "panda",
        "--via",
        "prun",
        "--again",
        cwd=panda_registry.root,
    )
    assert refused.code == ExitCode.USAGE and "the prun path submits one step" in refused.err


def test_check_failure_is_shown_and_nothing_recorded(panda_registry: Registry, stub, shrek):
    stub.expand = lambda params: (False, "unknown input parameter opt_foo for prun", [])
    result = shrek("submit", "sP22aa", "--backend", "panda", cwd=panda_registry.root)
    assert result.code == ExitCode.BACKEND
    assert "the PanDA server rejected the workflow" in result.err
    assert "unknown input parameter opt_foo for prun" in result.err
    assert load_records(panda_registry.tag_dir(TAG)) == []
    assert git(panda_registry.root, "status", "--porcelain") == ""


def test_large_resources(panda_registry: Registry, stub, shrek) -> None:
    tag_dir = panda_registry.tag_dir(TAG)
    (tag_dir / "freeze.yaml").unlink()
    (tag_dir / "bin" / "table.dat").write_bytes(os.urandom(2 * 1024 * 1024))
    step = tag_dir / "job" / "demo-pass1.yaml"
    step.write_text(
        step.read_text().replace("  - bin/generate.py", "  - bin/generate.py\n  - bin/table.dat")
    )
    commit_all(panda_registry)
    freeze(panda_registry, TAG)
    result = shrek("submit", "sP22aa/demo-pass1", "--backend", "panda", cwd=panda_registry.root)
    assert result.code == 0, result.err
    (request,) = stub.requests.values()
    with tarfile.open(fileobj=io.BytesIO(stub.uploads[request["params"]["sandbox"]])) as tar:
        assert "./bin/table.dat" in tar.getnames()  # not silently dropped by pchain's 1 MB cut
    # a submitted tag is never frozen afresh with other content: the bigger file is tried as a
    # test submission of the unfrozen tag
    (tag_dir / "freeze.yaml").unlink()
    (tag_dir / "bin" / "table.dat").write_bytes(os.urandom(11 * 1024 * 1024))
    commit_all(panda_registry)
    result = shrek(
        "submit",
        "sP22aa/demo-pass1",
        "--backend",
        "panda",
        "--again",
        "--test",
        cwd=panda_registry.root,
    )
    assert result.code == ExitCode.BACKEND
    assert "PanDA takes at most 10 MB (largest: bin/table.dat" in result.err


# -- status, retry, kill -------------------------------------------------------------------


def test_status_retry_and_kill(panda_registry: Registry, stub, shrek) -> None:
    assert shrek("submit", "sP22aa", "--backend", "panda", cwd=panda_registry.root).code == 0
    base = "user.jdoe.sP22aa-local.s0001"
    stub.set_status(f"{base}_000_demo-pass1", "running", files=4, finished=1)
    result = shrek("status", "--json", cwd=panda_registry.root)
    rows = {r["step"]: r for r in yaml.safe_load(result.out)}
    assert rows["demo-pass1"]["state"] == "running"
    assert rows["demo-pass1"]["jobs"] == {
        "total": 4,
        "done": 1,
        "failed": 0,
        "running": 3,
        "pending": 0,
    }
    assert rows["demo-pass1"]["ids"]["task"] == 1001
    assert git(panda_registry.root, "log", "-1", "--format=%s").startswith(f"shrek: status {TAG}")
    readme = (panda_registry.tag_dir(TAG) / "README.md").read_text()
    assert "[1001](https://panda.example.org/task/1001/)" in readme
    stub.set_status(f"{base}_000_demo-pass1", "finished", files=4, finished=3, failed=1)
    shrek("status", cwd=panda_registry.root)
    stub.task_by_name(f"{base}_000_demo-pass1")["modificationTime"] = "2020-01-01 00:00:00"
    retried = shrek("retry", "sP22aa/demo-pass1", "--memory", "4096", cwd=panda_registry.root)
    assert retried.code == 0, retried.err
    assert stub.task_by_name(f"{base}_000_demo-pass1")["retried_with"] == {"ramCount": 4096}
    record = load_records(panda_registry.tag_dir(TAG), "demo-pass1")[0]
    assert (
        "retry requested for PanDA task(s) 1001 with memory 4096 MB"
        in (record.data["history"][-1]["note"])
    )
    # the server says 'finished' until JEDI takes the retry up: the record is not closed again
    shrek("status", cwd=panda_registry.root)
    record = load_records(panda_registry.tag_dir(TAG), "demo-pass1")[0]
    assert record.state == "running", record.data["history"][-1]
    assert "JEDI has not taken it up yet" in record.data["history"][-1]["note"]
    stub.set_status(f"{base}_001_demo-pass2", "running", files=4)
    killed = shrek("kill", "sP22aa/demo-pass2", cwd=panda_registry.root)
    assert killed.code == 0, killed.err
    assert stub.task_by_name(f"{base}_001_demo-pass2")["status"] == "toabort"
    record = load_records(panda_registry.tag_dir(TAG), "demo-pass2")[0]
    assert record.state in ("submitted", "running")  # a request: killed once PanDA aborted it
    assert "kill requested" in record.data["history"][-1]["note"]
    stub.set_status(f"{base}_001_demo-pass2", "aborted", files=4)
    shrek("status", cwd=panda_registry.root)
    record = load_records(panda_registry.tag_dir(TAG), "demo-pass2")[0]
    assert record.state == "killed"
    for status, state in (
        ("done", "done"),
        ("failed", "failed"),
        ("broken", "failed"),
        ("exhausted", "failed"),
        ("aborted", "killed"),
    ):
        stub.set_status(f"{base}_000_demo-pass1", status, files=4, finished=4)
        rows = yaml.safe_load(shrek("status", "--json", "--no-commit", cwd=panda_registry.root).out)
        assert rows[0]["state"] in (state, "running"), (status, rows[0]["state"])
    assert git(panda_registry.root, "status", "--porcelain") == ""


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["timeout", "500", "garbage"])
def test_unclear_answers_leave_a_journal_and_never_a_duplicate(
    panda_registry: Registry, stub, shrek, kind: str
) -> None:
    settings = panda_registry.root / "shrek.yaml"
    settings.write_text(settings.read_text().replace("timeout_s: 20", "timeout_s: 3"))
    commit_all(panda_registry)
    stub.fault = {"endpoint": "put_workflow_request", "kind": kind}
    result = shrek(
        "submit", "sP22aa/demo-pass1", "--backend", "panda", "--no-check", cwd=panda_registry.root
    )
    assert result.code == ExitCode.BACKEND
    message = (
        "did not answer within 3 s"
        if kind == "timeout"
        else "answer to the submission could not be read"
    )
    assert message in result.err and "nothing is submitted twice" in result.err
    (record,) = load_records(panda_registry.tag_dir(TAG))
    assert record.state == "submitting", record.data["history"]
    assert git(panda_registry.root, "status", "--porcelain") == ""
    stub.fault = None
    again = shrek("submit", "sP22aa/demo-pass1", "--backend", "panda", cwd=panda_registry.root)
    assert again.code == ExitCode.ALREADY, again.err  # not visible yet: still journalled
    assert stub.requests == {}


def test_rejected_credential(panda_registry: Registry, stub, shrek) -> None:
    stub.rejected_tokens.add(TOKEN)
    result = shrek("submit", "sP22aa", "--backend", "panda", cwd=panda_registry.root)
    assert result.code == ExitCode.BACKEND
    assert "the PanDA server could not check the workflow" in result.err
    assert "refused the credential" in result.err
    assert load_records(panda_registry.tag_dir(TAG)) == []


def test_crash_after_the_server_accepted_is_reconciled(
    panda_registry: Registry, stub, shrek
) -> None:
    crashed = submit_and_crash_after_acceptance(panda_registry)
    assert crashed.returncode == -9
    assert len(stub.requests) == 1
    (record,) = load_records(panda_registry.tag_dir(TAG))
    assert record.state == "submitting"
    again = shrek("submit", "sP22aa/demo-pass1", "--backend", "panda", cwd=panda_registry.root)
    assert again.code == ExitCode.ALREADY, again.err
    assert len(stub.requests) == 1  # looked up by task name, not sent twice
    (record,) = load_records(panda_registry.tag_dir(TAG))
    assert record.state == "submitted" and record.data["ids"]["task"] == 1001


def test_accepted_but_tasks_not_yet_visible(panda_registry: Registry, stub, shrek) -> None:
    stub.hide_tasks = True
    crashed = submit_and_crash_after_acceptance(panda_registry)
    assert crashed.returncode == -9
    status = shrek("status", cwd=panda_registry.root)
    assert "submitting" in status.out
    (record,) = load_records(panda_registry.tag_dir(TAG))
    assert "not visible on the PanDA server yet" in record.data["history"][-1]["note"]
    assert (
        shrek("submit", "sP22aa/demo-pass1", "--backend", "panda", cwd=panda_registry.root).code
        == ExitCode.ALREADY
    )
    assert len(stub.requests) == 1


def submit_and_crash_after_acceptance(registry: Registry) -> subprocess.CompletedProcess:
    """A real 'shrek submit' that kills itself once the server accepted, before recording."""
    return subprocess.run(
        [sys.executable, "-m", "shrek", "submit", "sP22aa/demo-pass1", "--backend", "panda"],
        cwd=registry.root,
        env={**os.environ, "SHREK_FAULT_POINT": "after-backend"},
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- credentials ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"PANDA_AUTH_ID_TOKEN": None}, "no PanDA credential"),
        ({"PANDA_AUTH_ID_TOKEN": make_token(exp=time.time() - 3600)}, "expired at"),
        ({"PANDA_AUTH_ID_TOKEN": "not-a-token"}, "is not an OIDC ID token"),
        ({"PANDA_AUTH_VO": None}, "no OIDC virtual organisation"),
        ({"PANDA_AUTH": "x509"}, "OIDC tokens only"),
    ],
)
def test_credential_problems_stop_before_any_call(
    panda_registry: Registry, stub, shrek, monkeypatch, change, message
) -> None:
    for key, value in change.items():
        if value is None:
            monkeypatch.delenv(key)
        else:
            monkeypatch.setenv(key, value)
    result = shrek("submit", "sP22aa", "--backend", "panda", cwd=panda_registry.root)
    assert result.code == ExitCode.CREDENTIALS, result.err
    assert message in result.err
    assert stub.calls == [] and load_records(panda_registry.tag_dir(TAG)) == []


def _cache_token(monkeypatch, home: Path, id_token: str, refresh: str | None) -> Path:
    """panda-client's own token cache, as 'pbook' leaves it, and no token in the environment."""
    monkeypatch.delenv("PANDA_AUTH_ID_TOKEN")
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("PANDA_CONFIG_ROOT", str(home))
    cached = {"id_token": id_token, **({"refresh_token": refresh} if refresh else {})}
    (home / ".token").write_text(json.dumps(cached))
    return home / ".token"


def test_an_expired_cached_token_is_refreshed_as_panda_client_would(
    panda_registry: Registry, stub, shrek, monkeypatch, tmp_path: Path
) -> None:
    expired = make_token("jdoe", exp=time.time() - 3600)
    cache = _cache_token(monkeypatch, tmp_path / "pathena", expired, stub.refresh_token)
    result = shrek("submit", "sP22aa", "--backend", "panda", cwd=panda_registry.root)
    assert result.code == 0, result.err
    (fresh,) = stub.refreshed
    assert json.loads(cache.read_text())["id_token"] == fresh  # panda-client's cache, updated
    used = {auth for endpoint, auth in stub.calls if auth}
    assert used == {f"Bearer {fresh}"}, used
    committed = git(panda_registry.root, "log", "-p", "--all")
    assert fresh not in committed and stub.refresh_token not in committed


def test_an_expired_cached_token_without_refresh_is_refused(
    panda_registry: Registry, stub, shrek, monkeypatch, tmp_path: Path
) -> None:
    stub.refresh_token = "another"  # the cached refresh token is no longer accepted
    _cache_token(monkeypatch, tmp_path / "pathena", make_token(exp=time.time() - 60), "old")
    result = shrek("submit", "sP22aa", "--backend", "panda", cwd=panda_registry.root)
    assert result.code == ExitCode.CREDENTIALS, result.err
    assert "could not be refreshed" in result.err and "pbook" in result.err
    assert not [c for c in stub.calls if c[1]] and load_records(panda_registry.tag_dir(TAG)) == []


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("user.someoneelse", "is not yours"),
        ("group.sphenix", "needs the production role"),
    ],
)
def test_a_scope_panda_client_would_refuse_is_refused_first(
    panda_registry: Registry, stub, shrek, scope: str, message: str
) -> None:
    settings = panda_registry.root / "shrek.yaml"
    settings.write_text(settings.read_text() + f"  scope: {scope}\n")
    commit_all(panda_registry)
    result = shrek("submit", "sP22aa", "--backend", "panda", cwd=panda_registry.root)
    assert result.code == ExitCode.CREDENTIALS, result.err
    assert message in result.err
    assert stub.calls == [] and load_records(panda_registry.tag_dir(TAG)) == []


def test_a_scope_of_the_wrong_shape_fails_validation(panda_registry: Registry, shrek) -> None:
    settings = panda_registry.root / "shrek.yaml"
    settings.write_text(settings.read_text() + "  scope: jdoe\n")
    result = shrek("validate", cwd=panda_registry.root)
    assert result.code != 0
    assert "shrek.yaml:" in result.err and "user.<nickname> or group.<group>" in result.err


def test_a_local_refusal_by_panda_client_is_a_refusal_not_uncertain(
    panda_registry: Registry, stub, shrek, monkeypatch
) -> None:
    # panda-client's own output-name check (its nickname rewritten by the environment) stops
    # pchain before anything is sent: exit 8, the record closed, a new submission possible
    monkeypatch.setenv("PANDA_NICKNAME_REPLACE", "/jdoe/jane/")
    result = shrek("submit", "sP22aa", "--backend", "panda", "--no-check", cwd=panda_registry.root)
    assert result.code == ExitCode.BACKEND, result.err
    assert "stopped before sending it" in result.err and "user.jane" in result.err
    assert "put_workflow_request" not in [endpoint for endpoint, _ in stub.calls]
    assert {r.state for r in load_records(panda_registry.tag_dir(TAG))} == {"failed"}
    monkeypatch.delenv("PANDA_NICKNAME_REPLACE")
    again = shrek("submit", "sP22aa", "--backend", "panda", "--again", cwd=panda_registry.root)
    assert again.code == 0, again.err


def test_no_credential_is_ever_committed(panda_registry: Registry, stub, shrek) -> None:
    assert shrek("submit", "sP22aa", "--backend", "panda", cwd=panda_registry.root).code == 0
    stub.set_status("user.jdoe.sP22aa-local.s0001_000_demo-pass1", "running", files=4)
    shrek("status", cwd=panda_registry.root)
    committed = git(panda_registry.root, "log", "-p", "--all")
    payload = TOKEN.split(".")[1]
    assert TOKEN not in committed and payload not in committed
    assert not any(part in committed for part in ("PANDA_AUTH_ID_TOKEN", "Bearer"))
    kept = "".join(
        p.read_text(errors="replace")
        for p in panda_registry.root.rglob("*")
        if p.is_file() and ".git" not in p.parts and "runs" not in p.parts
    )
    assert TOKEN not in kept


LEAKY_LOG = """ERROR: workflow refused for user jdoe
debug: refresh_token=4f9c2a7be1d04f3a9c88b2e1aa7d5c10&client_id=panda
debug: password=Hunter2-Very-Secret
-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAzV7bX5yOq0M2a3RkZmFrZWtleWRhdGFmb3J0ZXN0c29ubHk0
c29tZW1vcmViYXNlNjRkYXRhZm9yYXByaXZhdGVrZXlibG9ja3RoYXRpc2Zha2U=
-----END RSA PRIVATE KEY-----
"""
LEAKED = (
    "4f9c2a7be1d04f3a9c88b2e1aa7d5c10",
    "Hunter2-Very-Secret",
    "MIIEowIBAAKCAQEAzV7bX5yOq0M2a3RkZmFrZWtleWRhdGFmb3J0ZXN0c29ubHk0",
    "c29tZW1vcmViYXNlNjRkYXRhZm9yYXByaXZhdGVrZXlibG9ja3RoYXRpc2Zha2U=",
)


def test_a_refusal_that_quotes_secrets_leaves_none_in_git(
    panda_registry: Registry, stub, shrek
) -> None:
    stub.refusal_log = LEAKY_LOG
    result = shrek("submit", "sP22aa", "--backend", "panda", "--no-check", cwd=panda_registry.root)
    assert result.code == ExitCode.BACKEND, result.err
    (record, *_) = load_records(panda_registry.tag_dir(TAG))
    assert record.state == "failed" and "workflow refused for user jdoe" in str(record.data)
    committed = git(panda_registry.root, "log", "-p", "--all")
    assert "refused" in committed
    for secret in LEAKED:
        assert secret not in committed, secret
    kept = "".join(
        p.read_text(errors="replace")
        for p in panda_registry.root.rglob("*")
        if p.is_file() and ".git" not in p.parts and ".shrek" not in p.parts
    )
    assert not any(secret in kept for secret in LEAKED)


def test_commands_that_do_not_talk_to_panda_never_import_it(panda_registry: Registry) -> None:
    code = (
        "import sys; from shrek.cli.main import run; run(['validate']); run(['tag', 'list']); "
        "run(['submit', '--help']); sys.exit(2 if 'pandaclient' in sys.modules else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=panda_registry.root,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PANDA")},
    )
    assert result.returncode in (0,), result.stderr[-500:]


def test_status_of_many_records_is_one_panda_client_request(
    panda_registry: Registry, stub, shrek
) -> None:
    for n in range(3):  # three submissions of the two steps: six records, six tasks
        args = ["submit", "sP22aa", "--backend", "panda", *(["--again"] if n else [])]
        assert shrek(*args, cwd=panda_registry.root).code == 0, n
    for task in stub.tasks.values():
        stub.set_status(task["taskName"], "running", files=4, finished=2)
    before = len(stub.calls)
    result = shrek("status", "--json", cwd=panda_registry.root)
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert len(rows) == 6 and all(r["jobs"]["done"] == 2 for r in rows)
    lookups = [e for e, _ in stub.calls[before:] if e == "task/get_tasks_detailed_info_since"]
    assert len(lookups) == 1  # not one per record
