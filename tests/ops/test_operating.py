"""Operating a production day to day: output globs that see only the payload's files, failure
summaries, a readable status, read-only checkouts and the small traps of issue 16."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from shrek.catalogs.factory import open_catalog
from shrek.core.records import Record, load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode
from shrek.ops.freeze import freeze
from tests.conftest import as_another_user, git
from tests.ops.conftest import DEMO_TAG as TAG
from tests.ops.conftest import cli, edit_step


def test_common_output_globs_see_only_the_payloads_files(demo: Registry, shrek) -> None:
    edit_step(demo, "demo-pass1", 'files: "events_*.txt"', 'files: "*.txt"', refreeze=False)
    edit_step(
        demo,
        "demo-pass1",
        '    files: "*.txt"\n',
        '    files: "*.txt"\n  - name: log\n    files: "*.log"\n',
        refreeze=False,
    )
    edit_step(
        demo,
        "demo-pass1",
        "--out events_${SHREK_SEQ}.txt",
        "--out events_${SHREK_SEQ}.txt && echo ok > run.log",
    )
    result = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == 0, result.err + result.out
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "done"
    logs = open_catalog(demo).files(record.data["datasets"]["outputs"]["log"])
    assert len(logs) == 4 and all(f.name.endswith(".log") for f in logs)


def test_failures_are_grouped_by_reason_with_one_log_each(demo: Registry, shrek) -> None:
    payload = (  # odd jobs fail (their message has a colon: spelled \\072 for YAML), even
        # ones make no output; the token printed first must never reach the record
        "exec: if [ $((SHREK_SEQ % 2)) = 1 ];"
        " then printf 'tok\\145n=hvs.CAESIab12cdefghijklmnopqrstu\\n' >&2;"
        " printf 'ERROR\\072 cannot open Fun4All_G4_Pileup_pp.C\\n' >&2; exit 1;"
        " else exit 0; fi; python3"
    )
    edit_step(demo, "demo-pass1", "max_attempts: 2", "max_attempts: 1", refreeze=False)
    edit_step(demo, "demo-pass1", "exec: python3", payload)
    subdir = demo.root / "tags"
    result = shrek("submit", "sP22aa/demo-pass1", cwd=subdir)
    assert result.code == ExitCode.BACKEND
    (record,) = load_records(demo.tag_dir(TAG))
    groups = {g["reason"]: g for g in record.data["failures"]}
    assert set(groups) == {
        "exit 1: ERROR: cannot open Fun4All_G4_Pileup_pp.C",
        "exit 65 (wrapper: declared output missing or ambiguous): declared output 'events' is "
        "missing: no file matches events_*.txt",
    }
    assert groups["exit 1: ERROR: cannot open Fun4All_G4_Pileup_pp.C"]["jobs"] == [1, 3]
    assert "CAESIab12" not in str(record.data)  # the payload's token never reaches the record
    assert "2 job(s) failed: exit 1: ERROR: cannot open Fun4All_G4_Pileup_pp.C" in result.err
    log = groups["exit 1: ERROR: cannot open Fun4All_G4_Pileup_pp.C"]["log"]
    assert f"log: {os.path.relpath(demo.root / log, subdir)}" in result.err  # from here
    status = shrek("status", cwd=subdir)
    assert "2 job(s) failed: exit 65 (wrapper: declared output missing" in status.err
    every = shrek("status", "--failed", cwd=demo.root)
    lines = [line for line in every.out.splitlines() if " job " in line]
    assert [line.split(" job ")[1].split(":")[0] for line in lines] == ["1", "2", "3", "4"]
    assert "(attempts 1)  log: .shrek/runs/" in lines[0]


def _rename_generator(registry: Registry) -> None:
    """demo-pass1 becomes 'zgen': the DAG order (zgen, demo-pass2) is not the alphabetical."""
    job = registry.tag_dir(TAG) / "job"
    text = (job / "demo-pass1.yaml").read_text().replace("name: demo-pass1", "name: zgen")
    (job / "zgen.yaml").write_text(text)
    (job / "demo-pass1.yaml").unlink()
    pass2 = job / "demo-pass2.yaml"
    pass2.write_text(pass2.read_text().replace("demo-pass1.events", "zgen.events"))
    (registry.tag_dir(TAG) / "freeze.yaml").unlink()
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "-qm", "rename the generator")
    freeze(registry, TAG)


def test_status_shows_dag_order_sequences_and_output_sizes(demo: Registry, shrek) -> None:
    _rename_generator(demo)
    assert shrek("submit", "sP22aa", cwd=demo.root).code == 0
    rows = json.loads(shrek("status", "--json", cwd=demo.root).out)
    assert [r["step"] for r in rows] == ["zgen", "demo-pass2"]
    assert rows[0]["sequences"] == {"first": 1, "last": 4}
    (events,) = rows[0]["outputs"].values()
    files = open_catalog(demo).files(events["dataset"])
    assert events["files"] == 4 and events["bytes"] == sum(f.size for f in files)
    table = shrek("status", cwd=demo.root).out.splitlines()
    assert table[0].split() == [
        "tag",
        "step",
        "#",
        "state",
        "done/run/fail/pend",
        "sequences",
        "outputs",
    ]
    assert table[1].split()[1:6] == ["zgen", "0001", "done", "4/0/0/0", "1-4"]
    assert "(4 files, " in table[1]


def test_a_submitted_run_without_jobs_yet_is_starting(demo: Registry) -> None:
    from shrek.ops.status import _row

    record = Record(
        demo.tag_dir(TAG) / "submissions" / "x.yaml",
        {
            "step": "demo-pass1",
            "number": 1,
            "test": False,
            "backend": {"name": "local"},
            "state": "submitted",
            "jobs": {"total": 0},
            "datasets": {"outputs": {}},
            "sequences": {"demo-pass1": {"first": 1, "last": 4}},
        },
    )
    assert _row(demo, TAG, record, {})["state"] == "starting"


def test_reading_commands_work_in_a_read_only_checkout(demo: Registry, tmp_path: Path) -> None:
    assert cli(demo, "submit", "sP22aa").returncode == 0
    shared = tmp_path / "shared"
    shutil.copytree(demo.root, shared, symlinks=True)
    reader = as_another_user(tmp_path)
    if reader:  # nobody reads, and may not write
        subprocess.run(["chmod", "-R", "go+rX,go-w", str(shared)], check=True)
    else:
        subprocess.run(["chmod", "-R", "a-w", str(shared)], check=True)
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "nowhere"),
        "GIT_CONFIG_COUNT": "1",  # a shared checkout is owned by someone else
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
    }
    try:
        for command in (
            ["status", "--no-commit"],
            ["status", "--no-commit", "--failed"],
            ["tag", "list"],
            ["tag", "show", "sP22aa"],
            ["log", "sP22aa"],
            ["validate"],
            ["verify"],
            ["verify", "--outputs"],
            ["graph", "sP22aa"],
            ["provenance", "prod.sP22aa-local.demo-pass2.merged.s0001", "--tree"],
            ["dataset", "show", "prod.sP22aa-local.demo-pass1.events.s0001"],
        ):
            done = subprocess.run(
                [*reader, sys.executable, "-m", "shrek", *command],
                cwd=shared,
                capture_output=True,
                text=True,
                env=environment,
                timeout=120,
            )
            assert done.returncode == 0, (command, done.stderr)
            assert "Traceback" not in done.stderr
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(shared)], check=False)


def test_render_never_deletes_what_it_did_not_write(demo: Registry, shrek, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert shrek("render", "sP22aa", "-o", str(out), cwd=demo.root).code == 0
    stale = out / "old-tag.prun"  # left by an earlier rendering: replaced whole
    stale.write_text("prun ...\n")
    assert shrek("render", "sP22aa/demo-pass1", "-o", str(out), cwd=demo.root).code == 0
    assert not stale.exists() and not (out / "demo-pass2.prun").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes\n")
    refused = shrek("render", "sP22aa", "-o", str(mine), cwd=demo.root)
    assert refused.code == ExitCode.CONFLICT and "SHREK did not render into it" in refused.err
    assert (mine / "notes.txt").exists()
    assert shrek("render", "sP22aa", "-o", str(mine), "--force", cwd=demo.root).code == 0
    assert not (mine / "notes.txt").exists()
    home = shrek("render", "sP22aa", "-o", str(demo.root), "--force", cwd=demo.root)
    assert home.code == ExitCode.USAGE and "holds the registry" in home.err


def test_render_check_refuses_a_sandbox_panda_would_refuse(demo: Registry, shrek) -> None:
    tag_dir = demo.tag_dir(TAG)
    (tag_dir / "bin" / "table.dat").write_bytes(os.urandom(11 * 1024 * 1024))
    edit_step(demo, "demo-pass1", "  - bin/generate.py", "  - bin/generate.py\n  - bin/table.dat")
    result = shrek("render", "sP22aa", "-o", str(demo.root.parent / "r"), "--check", cwd=demo.root)
    assert result.code == ExitCode.INVALID
    assert "FAIL sandbox within panda-client's size limit" in result.out
    assert "PanDA takes at most 10 MB (largest: bin/table.dat 11.5 MB" in result.err


def test_refusals_name_what_they_ignored_and_what_does_not_exist(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", "--test", cwd=demo.root).code == 0
    refused = shrek("submit", "sP22aa/demo-pass2", cwd=demo.root)
    assert refused.code == ExitCode.NO_UPSTREAM
    assert "its --test submission #0001 is done, but a production submission reads only" in (
        refused.err
    )
    unknown = shrek("retry", "sP22aa/demo-pass3", cwd=demo.root)
    assert unknown.code == ExitCode.NOT_FOUND
    assert "has no step 'demo-pass3'" in unknown.err and "did you mean sP22aa/demo-pass" in (
        unknown.err
    )


def test_probe_measures_memory_and_judges_the_requirements(demo: Registry, shrek) -> None:
    allocate = (  # 300 MB touched and held for a second, in a child of the payload's shell
        "exec: python3 -c 'import time; a = bytearray(300 * 1024 * 1024); time.sleep(1.0)'; python3"
    )
    edit_step(demo, "demo-pass1", "exec: python3", allocate, refreeze=False)
    edit_step(demo, "demo-pass1", "memory_mb: 512", "memory_mb: 100\n  events_per_job: 50")
    result = shrek("probe", "sP22aa/demo-pass1", "--json", cwd=demo.root)
    assert result.code == 0, result.err
    probed = json.loads(result.out)
    assert len(probed["jobs"]) == 2  # the first two of the step's four
    for job in probed["jobs"]:
        assert job["exit"] == 0 and job["wall_s"] >= 1.0 and job["output_bytes"] > 0
        assert 300 <= job["peak_rss_mb"] <= 300 * 1.10 + 30, job  # the allocation and bash/python
    verdicts = {v["requirement"]: v for v in probed["verdicts"]}
    assert verdicts["memory_mb"]["verdict"] == "too tight"
    assert verdicts["memory_mb"]["suggested"] >= 400
    assert verdicts["walltime_h"]["verdict"] == "fits"
    assert verdicts["cpu_time_per_event_s"]["verdict"] == "unknown"  # not requested
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.test and record.data["probe"]["jobs"][0]["peak_rss_mb"] > 300
    assert "Measured by `shrek probe`" in (demo.tag_dir(TAG) / "README.md").read_text()
    assert git(demo.root, "status", "--porcelain") == ""
    applied = shrek("probe", "sP22aa/demo-pass1", "--jobs", "1", "--apply", cwd=demo.root)
    assert applied.code == 0, applied.err
    assert "memory_mb too tight" not in applied.out or "suggested" in applied.out
    step = (demo.tag_dir(TAG) / "job" / "demo-pass1.yaml").read_text()
    assert "memory_mb: 100" not in step and "memory_mb: " in step
    assert git(demo.root, "status", "--porcelain").strip().endswith("demo-pass1.yaml")


def test_a_detached_submission_is_shown_as_starting(demo: Registry, shrek) -> None:
    result = shrek("submit", "sP22aa/demo-pass1", "--detach", cwd=demo.root)
    assert result.code == 0
    assert "demo-pass1 #0001: starting  -> prod." in result.out or "job(s) done" in result.out
    assert "0/0 job(s) done" not in result.out


def test_probe_judges_only_jobs_that_succeeded(demo: Registry, shrek) -> None:
    """A probed job that failed (exit 67, no /cvmfs) was judged 'wasteful' and its
    suggestions written into the step with exit 0 (issue 29, point 3)."""
    edit_step(
        demo, "demo-pass1", "exec: python3", "exec: echo no /cvmfs here >&2; exit 67; python3"
    )
    step = demo.tag_dir(TAG) / "job" / "demo-pass1.yaml"
    before = step.read_text()
    result = shrek("probe", "sP22aa/demo-pass1", "--apply", cwd=demo.root)
    assert result.code == ExitCode.BACKEND, result.err
    assert "none of the 2 probed job(s) of sP22aa/demo-pass1 succeeded" in result.err
    assert "no /cvmfs here" in result.err and "nothing was written" in result.err
    assert step.read_text() == before
    assert git(demo.root, "status", "--porcelain") == ""


def test_an_unexpected_error_is_one_line_and_a_crash_log(registry: Registry, tmp_path) -> None:
    """A bug (an exception nothing expects, raised for real at a fault point) exits 70 with one
    line naming the crash log; the log holds the versions, the command and the traceback,
    redacted."""
    cache = tmp_path / "cache"
    done = subprocess.run(
        [sys.executable, "-m", "shrek", "tag", "show", "https://jane:s3cretpass@example.org/x"],
        cwd=registry.root,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "SHREK_FAULT_POINT": "command",
            "SHREK_FAULT_SIGNAL": "RAISE",
            "XDG_CACHE_HOME": str(cache),
        },
    )
    assert done.returncode == ExitCode.CRASH == 70
    assert "Traceback" not in done.stderr
    first, second = done.stderr.splitlines()
    assert first == "shrek: unexpected error (RuntimeError): this is a bug in SHREK"
    (log,) = (cache / "shrek" / "crash").iterdir()
    assert second == f"    fix: please report it with the crash log {log}"
    text = log.read_text()
    for expected in ("shrek: ", "python: ", "git: git version", "command: shrek tag show"):
        assert expected in text, expected
    assert "RuntimeError: fault injected at command" in text and "Traceback" in text
    assert "s3cretpass" not in text


def test_a_reader_that_goes_away_ends_the_output_quietly(registry: Registry) -> None:
    """shrek tag list | head -1: the rest of the output goes nowhere, with no traceback."""
    source = registry.tags_dir / "sP22a-mdc2.7"
    source.mkdir(parents=True)
    (source / "tag.yaml").write_text("label: sP22a\nbuild: mdc2.7\ntitle: " + "x" * 60 + "\n")
    for n in range(1, 1200):
        copy = registry.tags_dir / f"sP{10 + n // 702:02d}{chr(97 + n % 26)}{n}-mdc2.7"
        shutil.copytree(source, copy)
    lister = subprocess.Popen(
        [sys.executable, "-m", "shrek", "tag", "list"],
        cwd=registry.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert lister.stdout is not None and lister.stderr is not None
    assert lister.stdout.readline().startswith("label")
    lister.stdout.close()  # as head does after its line
    stderr = lister.stderr.read()
    # typer's echo already drops output nobody reads (exit 0); a write outside it, or the
    # final flush, ends with 141 (128 + SIGPIPE): never a traceback
    assert lister.wait(timeout=120) in (0, ExitCode.CLOSED_PIPE), stderr
    assert stderr == ""
