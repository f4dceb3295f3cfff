"""Submission end to end on real git registries with the local backend."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from shrek.catalogs.factory import open_catalog
from shrek.core.records import CHECKED_RECORDS, FINAL, load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError
from shrek.ops.dataset import add_files
from shrek.ops.status import refresh
from tests.conftest import git
from tests.ops.conftest import BACKGROUND, cli, edit_step
from tests.ops.conftest import DEMO_TAG as TAG


def wait_final(registry: Registry, timeout: float = 60) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = refresh(registry, TAG, commit=False).records
        if records and all(r.state in FINAL for r in records):
            return records
        time.sleep(0.1)
    raise AssertionError("submission did not finish")


# -- the successful two-step production ----------------------------------------------------


def test_two_steps_pass2_consumes_pass1(demo: Registry, shrek) -> None:
    head = git(demo.root, "rev-parse", "HEAD")
    first = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert first.code == 0, first.err
    second = shrek("submit", "sP22aa/demo-pass2", "--jobs", "2", cwd=demo.root)
    assert second.code == 0, second.err
    pass1, pass2 = load_records(demo.tag_dir(TAG))
    assert (pass1.state, pass2.state) == ("done", "done")
    produced = pass1.data["datasets"]["outputs"]["events"]
    assert produced == f"prod.{TAG}.demo-pass1.events.s0001"
    assert pass2.data["datasets"]["inputs"] == {
        "demo-pass1.events": produced,
        BACKGROUND: BACKGROUND,
    }
    catalog = open_catalog(demo)
    signal_files = catalog.files(produced)
    merged = catalog.files(pass2.data["datasets"]["outputs"]["merged"])
    assert [f.name for f in signal_files] == [
        f"{TAG}.demo-pass1.events._{n:06d}.txt" for n in range(1, 5)
    ]
    assert len(merged) == 4
    # each merged file holds its signal file's events followed by two background files
    first_merged = Path(merged[0].location).read_text().splitlines()
    signal_lines = [
        ln
        for ln in Path(signal_files[0].location).read_text().splitlines()
        if not ln.startswith("#")
    ]
    assert first_merged[: len(signal_lines)] == signal_lines
    assert first_merged[len(signal_lines) :] == ["minbias 1 0 0 0", "minbias 2 0 0 0"]
    # the records: schema-valid (load_records checks), complete, committed
    data = pass1.data
    assert data["freeze_digest"].startswith("sha256:") and data["test"] is False
    assert data["submitted"]["registry_commit"] == head
    assert data["sequences"] == {"demo-pass1": {"first": 1, "last": 4}}
    assert data["commands"]["exec"] == "bash demo-pass1.sh %RNDM:0"
    assert "--nJobs 4" in data["commands"]["args"]
    assert data["jobs"] == {"total": 4, "done": 4, "running": 0, "failed": 0, "pending": 0}
    assert [h["state"] for h in data["history"]] == ["submitting", "submitted", "done"]
    assert data["ids"]["request"].startswith("local-")
    assert git(demo.root, "status", "--porcelain") == ""
    subjects = git(demo.root, "log", "--format=%s", f"{head}..HEAD").splitlines()[::-1]
    assert subjects[0].startswith(
        f"shrek: journal submission of {TAG}: demo-pass1 #0001 (local local-"
    )
    assert subjects[1].startswith(f"shrek: submit {TAG}: demo-pass1 #0001 (local local-")
    assert subjects[2] == f"shrek: status {TAG}: demo-pass1 #0001 done"
    history = shrek("log", "sP22aa", "--json", cwd=demo.root)
    kinds = [e["kind"] for e in json.loads(history.out)]
    assert kinds == [
        "created",
        "frozen",
        "journalled",
        "submitted",
        "state change",
        "journalled",
        "submitted",
        "state change",
    ]


def test_whole_tag_in_dependency_order_and_sequences_continue(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa", cwd=demo.root).code == 0
    assert {r.state for r in load_records(demo.tag_dir(TAG))} == {"done"}
    again = shrek("submit", "sP22aa/demo-pass1", "--again", cwd=demo.root)
    assert again.code == 0, again.err
    records = load_records(demo.tag_dir(TAG))
    # registry-wide: pass2 follows pass1, and pass1 again follows both — no seed twice
    assert [(r.step, r.data["sequences"][r.step]) for r in records] == [
        ("demo-pass1", {"first": 1, "last": 4}),
        ("demo-pass1", {"first": 9, "last": 12}),
        ("demo-pass2", {"first": 5, "last": 8}),
    ]
    assert records[1].data["again"] is True
    assert records[1].data["commands"]["exec"] == "bash demo-pass1.sh %RNDM:8"
    run = demo.state_dir / "runs" / records[1].data["ids"]["request"] / "state.json"
    seqs = [j["seq"] for j in json.loads(run.read_text())["steps"]["demo-pass1"]["jobs"]]
    assert seqs == [9, 10, 11, 12]
    ledger = (demo.root / "submissions.ledger").read_text().splitlines()
    assert [line.split()[:3] for line in ledger if not line.startswith("#")] == [
        [f"{TAG}/demo-pass1/0001", "prod", "1-4"],
        [f"{TAG}/demo-pass2/0001", "prod", "5-8"],
        [f"{TAG}/demo-pass1/0002", "prod", "9-12"],
    ]


# -- guards ------------------------------------------------------------------------------


def test_guard_dirty_tree(demo: Registry, shrek) -> None:
    (demo.tag_dir(TAG) / "notes.txt").write_text("scratch\n")
    result = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == ExitCode.DIRTY
    assert "uncommitted or untracked changes" in result.err and "notes.txt" in result.err
    assert "commit them" in result.err and not load_records(demo.tag_dir(TAG))


def test_guard_invalid_even_with_test(demo: Registry, shrek) -> None:
    edit_step(demo, "demo-pass1", "${nevents}", "${nevent}", refreeze=False)
    for extra in ([], ["--test"]):
        result = shrek("submit", "sP22aa/demo-pass1", *extra, cwd=demo.root)
        assert result.code == ExitCode.NOT_VALID, result.err
        assert "uses ${nevent}" in result.err and "not even with --test" in result.err


def test_guard_not_frozen_and_test_override(demo: Registry, shrek) -> None:
    edit_step(demo, "demo-pass1", "nevents: 50", "nevents: 5", refreeze=False)
    result = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == ExitCode.NOT_FROZEN and "shrek freeze sP22aa" in result.err
    result = shrek("submit", "sP22aa/demo-pass1", "--test", cwd=demo.root)
    assert result.code == 0, result.err
    assert "TEST submission despite: unfrozen" in result.err
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.test is True and record.data["freeze_digest"] is None
    assert record.data["overridden_guards"][0].startswith(
        "unfrozen: tag sP22aa-local is not frozen"
    )
    assert record.data["datasets"]["outputs"]["events"] == f"test.{TAG}.demo-pass1.events.s0001"
    assert "[TEST]" in git(demo.root, "log", "-1", "--format=%s", "HEAD~1")
    assert "done [TEST]" in shrek("status", cwd=demo.root).out
    # a test submission never blocks, nor feeds, a production one
    production = shrek("submit", "sP22aa/demo-pass2", cwd=demo.root)
    assert production.code == ExitCode.NOT_FROZEN


def test_guard_drifted(demo: Registry, shrek, tmp_path: Path) -> None:
    extra = tmp_path / "mb_9.txt"
    extra.write_text("minbias 9\n")
    add_files(open_catalog(demo), BACKGROUND, [extra])
    result = shrek("submit", "sP22aa/demo-pass2", cwd=demo.root)
    assert result.code == ExitCode.DRIFTED
    assert f"dataset {BACKGROUND}: gained 1 file(s): mb_9.txt" in result.err
    assert "shrek tag new --from sP22aa" in result.err


def test_guard_upstream_missing(demo: Registry, shrek) -> None:
    result = shrek("submit", "sP22aa/demo-pass2", cwd=demo.root)
    assert result.code == ExitCode.NO_UPSTREAM
    assert "demo-pass1 has no done submission" in result.err
    assert "shrek submit sP22aa/demo-pass1" in result.err


def test_guard_head_not_on_remote(demo: Registry, shrek, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(demo.root, "remote", "add", "origin", str(remote))
    result = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == ExitCode.NOT_PUSHED and "git push first" in result.err
    git(demo.root, "push", "-q", "origin", "HEAD:main")
    git(demo.root, "fetch", "-q", "origin")
    result = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == 0, result.err


def test_guard_already_submitted(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    result = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == ExitCode.ALREADY
    assert "already has a done submission: #0001" in result.err
    assert "shrek extend sP22aa/demo-pass1 --jobs N" in result.err and "--again" in result.err


# -- failures, retries ----------------------------------------------------------------------


def test_a_job_that_fails_once_succeeds_on_its_second_attempt(
    demo: Registry, shrek, tmp_path: Path
) -> None:
    marker = f"{tmp_path}/m_${{SHREK_SEQ}}"
    edit_step(
        demo,
        "demo-pass1",
        "exec: python3",
        f"exec: test -e {marker} || {{ touch {marker}; exit 3; }}; python3",
    )
    result = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == 0, result.err
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "done"
    state = json.loads(
        (demo.state_dir / "runs" / record.data["ids"]["request"] / "state.json").read_text()
    )
    attempts = [[a["exit"] for a in j["attempts"]] for j in state["steps"]["demo-pass1"]["jobs"]]
    assert attempts == [[3, 0]] * 4


def test_a_job_that_always_fails_and_retry(demo: Registry, shrek, tmp_path: Path) -> None:
    edit_step(
        demo,
        "demo-pass1",
        "exec: python3",
        (f"exec: test -e {tmp_path}/fixed || {{ echo 'no luck' >&2; exit 5; }}; python3"),
    )
    edit_step(demo, "demo-pass1", "max_attempts: 2", "max_attempts: 1")
    result = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == ExitCode.BACKEND
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "failed"
    (group,) = record.data["failures"]  # four identical failures: one group, one log
    assert group["reason"] == "exit 5: no luck"
    assert group["count"] == 4 and group["jobs"] == [1, 2, 3, 4] and group["attempts"] == 1
    log = demo.root / group["log"]
    assert "no luck" in log.read_text() and "payload failed with exit status 5" in log.read_text()
    assert "4 job(s) failed: exit 5: no luck" in result.err
    assert f"log: {os.path.relpath(log)}" in result.err
    (tmp_path / "fixed").touch()
    retried = shrek("retry", "sP22aa/demo-pass1", cwd=demo.root)
    assert retried.code == 0, retried.err and "retrying 4 failed job(s)" in retried.out
    (record,) = wait_final(demo)
    assert record.state == "done"
    shrek("status", cwd=demo.root)
    (record,) = load_records(demo.tag_dir(TAG))
    assert [h["state"] for h in record.data["history"]] == [
        "submitting",
        "submitted",
        "failed",
        "running",
        "done",
    ]
    assert git(demo.root, "status", "--porcelain") == ""
    verified = shrek("verify", cwd=demo.root)  # a retried record only grew: nothing to name
    assert verified.code == 0, verified.err


# -- interruptions, detaching, killing, concurrency -----------------------------------------


def test_killed_after_journalling_is_reconciled(demo: Registry, shrek) -> None:
    crashed = cli(demo, "submit", "sP22aa/demo-pass1", env={"SHREK_FAULT_POINT": "after-journal"})
    assert crashed.returncode == -9
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "submitting"
    assert git(demo.root, "status", "--porcelain") == ""  # the journal was committed
    status = shrek("status", cwd=demo.root)
    assert "abandoned" in status.out
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.data["history"][-1]["note"].startswith("interrupted before the local backend")
    # the step was never run: submitting it again needs no --again, and numbers move on
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    records = load_records(demo.tag_dir(TAG))
    assert [r.state for r in records] == ["abandoned", "done"]
    assert records[1].data["sequences"]["demo-pass1"]["first"] == 5


def test_killed_after_the_backend_accepted_is_reconciled(demo: Registry, shrek) -> None:
    crashed = cli(demo, "submit", "sP22aa/demo-pass1", env={"SHREK_FAULT_POINT": "after-backend"})
    assert crashed.returncode == -9
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "submitting"
    again = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)  # reconciles first, then refuses
    assert again.code == ExitCode.ALREADY, again.err
    (record,) = wait_final(demo)
    assert record.state == "done"
    assert len(load_records(demo.tag_dir(TAG))) == 1


def test_detach_then_status_then_kill(demo: Registry, shrek) -> None:
    edit_step(demo, "demo-pass1", "exec: python3", "exec: sleep 30; python3")
    result = shrek("submit", "sP22aa/demo-pass1", "--detach", cwd=demo.root)
    assert result.code == 0 and "running in the background" in result.out
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "submitted"
    time.sleep(0.5)
    assert "running" in shrek("status", cwd=demo.root).out
    killed = shrek("kill", "sP22aa/demo-pass1", cwd=demo.root)
    assert killed.code == 0, killed.err
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "killed"
    assert git(demo.root, "log", "-1", "--format=%s").startswith(f"shrek: kill {TAG}")
    assert shrek("kill", "sP22aa", cwd=demo.root).code == ExitCode.NOTHING_TO_DO


def test_two_concurrent_submits_serialise(demo: Registry) -> None:
    command = [sys.executable, "-m", "shrek", "submit", "sP22aa/demo-pass1"]
    processes = [
        subprocess.Popen(
            command, cwd=demo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outcomes = sorted((p.wait(timeout=120), p.stderr.read()) for p in processes)
    assert [code for code, _ in outcomes] == [0, ExitCode.ALREADY], outcomes
    assert len(load_records(demo.tag_dir(TAG))) == 1
    assert git(demo.root, "status", "--porcelain") == ""


def test_records_never_hold_the_environment(demo: Registry, shrek, monkeypatch) -> None:
    monkeypatch.setenv("PANDA_AUTH_ID_TOKEN", "eyJhbGciOiJub25lIn0.secret-token-value.sig")
    assert shrek("submit", "sP22aa", cwd=demo.root).code == 0
    committed = git(demo.root, "log", "-p", "--all")
    assert "secret-token-value" not in committed
    for record in load_records(demo.tag_dir(TAG)):
        assert "secret" not in yaml.safe_dump(record.data)


def test_finished_records_are_answered_from_the_cache_but_a_damaged_one_is_refused(
    demo: Registry, shrek
) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    (record,) = load_records(demo.tag_dir(TAG))
    cache = demo.state_dir / CHECKED_RECORDS / f"{TAG}.jsonl"
    header, *lines = cache.read_text().splitlines()
    digest = hashlib.sha256(record.path.read_bytes()).hexdigest()
    (body,) = [line.partition(" ")[2] for line in lines if line.startswith(f"{digest} ")]
    cached = {**json.loads(body), "state": "answered-from-the-cache"}
    cache.write_text(f"{header}\n{digest} {json.dumps(cached)}\n")
    assert load_records(demo.tag_dir(TAG))[0].state == "answered-from-the-cache"
    record.path.write_text(record.path.read_text().replace("number: 1", "number: x"))
    with pytest.raises(ShrekError) as damaged:
        load_records(demo.tag_dir(TAG))
    assert "is damaged" in damaged.value.message
    status = shrek("status", cwd=demo.root)
    assert status.code == ExitCode.INVALID and "is damaged" in status.err


def test_the_readme_a_submit_commits_is_the_one_its_records_make(demo: Registry, shrek) -> None:
    """A submit renders the README from the records it refreshed and wrote, not read again:
    every commit it makes holds the README that the committed records give."""
    from shrek.ops.readme import stale_readmes

    for args in (["submit", "sP22aa/demo-pass1"], ["submit", "sP22aa", "--again", "--detach"]):
        done = shrek(*args, cwd=demo.root)
        assert done.code == 0, done.err
        assert stale_readmes(demo, [TAG]) == []
        rows = [line for line in (demo.tag_dir(TAG) / "README.md").read_text().splitlines()]
        numbers = [line.split("|")[2].strip() for line in rows if line.startswith("| demo-")]
        assert len(numbers) == len(load_records(demo.tag_dir(TAG))), numbers
    wait_final(demo)
    assert shrek("status", "sP22aa", cwd=demo.root).code == 0
    assert stale_readmes(demo, [TAG]) == []
