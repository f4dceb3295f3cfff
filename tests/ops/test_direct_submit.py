"""``shrek submit`` run without typer (shrek/cli/direct.py): read as typer reads it, run and
printed by the same code, failing in the same words — and only for the command lines it can
read in typer's one way."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from shrek.cli import direct
from shrek.cli.main import app, load_commands
from shrek.cli.submitted import submit_request
from shrek.core.records import load_records
from shrek.core.registry import Registry
from tests.conftest import git


def _typer_command():
    load_commands(["submit"])
    return typer.main.get_command(app).commands["submit"]  # type: ignore[attr-defined]


def _typer_options(argv: list[str]) -> dict:
    """The options typer gives the submit command for ``shrek ARGV``."""
    return dict(_typer_command().make_context("submit", argv[1:]).params)


def test_the_flags_are_the_on_off_options_the_command_declares() -> None:
    declared = {
        name: param.name
        for param in _typer_command().params
        if getattr(param, "is_bool_flag", False)
        for name in [*param.opts, *param.secondary_opts]
    }
    assert declared == direct.FLAGS


def _flag_lines() -> list[list[str]]:
    """Every set of the flags (one spelling each), the target first, last or between; and a
    few with short, repeated and both spellings."""
    names = sorted({name: flag for flag, name in direct.FLAGS.items()}.items())
    lines = []
    for count in range(len(names) + 1):
        for chosen in itertools.combinations([flag for _, flag in names], count):
            middle = len(chosen) // 2
            lines.append(["submit", *chosen[:middle], "sP22aa/one", *chosen[middle:]])
    lines += [
        ["submit", "-d", "-q", "sP22aa"],
        ["submit", "sP22aa", "--detach", "-d", "--detach"],
        ["submit", "--quiet", "sP22aa", "-q", "--json", "--json"],
        ["submit", "sP22aa-local/pass2"],
    ]
    return lines


def test_every_command_line_read_here_is_read_as_typer_reads_it() -> None:
    lines = _flag_lines()
    assert len(lines) == 2 ** len(set(direct.FLAGS.values())) + 4
    for argv in lines:
        given = direct.options(argv)
        assert given is not None, argv
        typer_gives = _typer_options(argv)
        assert {k: typer_gives[k] for k in given} == given, argv
        rest = {k: v for k, v in typer_gives.items() if k not in given}
        assert all(not v for v in rest.values()), (argv, rest)  # every option with a value unset
        asked = {k: v for k, v in given.items() if k not in ("quiet", "as_json")}
        typer_asked = {k: v for k, v in typer_gives.items() if k not in ("quiet", "as_json")}
        assert submit_request(**asked) == submit_request(**typer_asked), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["submit"],
        ["submit", "--detach"],
        ["submit", "sP22aa", "sP22ab"],
        ["submit", "--backend", "local", "sP22aa"],
        ["submit", "-b", "local", "sP22aa"],
        ["submit", "--jobs=2", "sP22aa"],
        ["submit", "sP22aa", "--panda", "site=BNL"],
        ["submit", "-dq", "sP22aa"],
        ["submit", "--", "sP22aa"],
        ["submit", "sP22aa", "--help"],
        ["submit", "sP22aa", "-h"],
        ["submit", "sP22aa", "--detatch"],
        ["submit", "-"],
        ["--registry", ".", "submit", "sP22aa"],
        ["status", "sP22aa"],
        [],
    ],
)
def test_any_other_command_line_goes_to_typer(argv: list[str], monkeypatch) -> None:
    monkeypatch.delenv("SHREK_REGISTRY", raising=False)
    assert direct.options(argv) is None


def test_a_registry_named_in_the_environment_goes_to_typer(monkeypatch) -> None:
    monkeypatch.setenv("SHREK_REGISTRY", "/somewhere")
    assert direct.options(["submit", "sP22aa"]) is None


def _run(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    watched: tuple[str, ...] = ("typer",),
) -> subprocess.CompletedProcess:
    """``shrek ARGS`` as a user runs it; standard error ends with whether each ``watched``
    module was loaded (``typer loaded: False``)."""
    probe = (
        "import sys\n"
        "from shrek.entry import main\n"
        f"sys.argv = ['shrek', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        f"    for name in {list(watched)!r}:\n"
        "        sys.stderr.write(f'{name} loaded: {name in sys.modules}\\n')\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "SHREK_REGISTRY"}
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        timeout=300,
        start_new_session=True,  # a Ctrl-C it simulates reaches its own group only
    )


def test_a_detached_submit_runs_without_typer_and_prints_what_typer_prints(
    demo: Registry, shrek
) -> None:
    done = _run(demo.root, "submit", "sP22aa/demo-pass1", "--detach")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "typer loaded: False\n"
    (record,) = load_records(demo.tag_dir("sP22aa-local"))
    run = record.data["ids"]["request"]
    journal = record.data["submitted"]["journal_commit"]
    head = git(demo.root, "rev-parse", "HEAD")
    assert done.stdout.splitlines() == [
        f"submitted sP22aa-local: run {run} (journal {journal[:12]}, record {head[:12]})",
        "  demo-pass1 #0001: starting  -> prod.sP22aa-local.demo-pass1.events.s0001",
        "running in the background: shrek status sP22aa-local",
    ]
    typer_done = shrek("submit", "sP22aa/demo-pass1", "--detach", "--again", cwd=demo.root)
    assert typer_done.code == 0, typer_done.err
    assert [line.split(":")[0] for line in typer_done.out.splitlines()] == [
        line.split(":")[0] for line in done.stdout.replace("#0001", "#0002").splitlines()
    ]
    as_json = _run(demo.root, "submit", "sP22aa/demo-pass1", "--again", "-d", "-q", "--json")
    assert as_json.returncode == 0, as_json.stderr
    (submission,) = json.loads(as_json.stdout)["submissions"]
    assert submission["number"] == 3 and submission["state"] == "submitted"


def test_a_submit_creates_no_dataclass(demo: Registry) -> None:
    """Python 3.11 compiles up to six methods of every dataclass while its module is imported,
    and ``dataclasses`` imports ``inspect``: together a tenth of a submit. So the modules a
    submit loads define their types as NamedTuples and plain classes (docs/development.md)."""
    done = _run(
        demo.root, "submit", "sP22aa/demo-pass1", "-d", "-q", watched=("dataclasses", "inspect")
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "dataclasses loaded: False\ninspect loaded: False\n"


def test_a_refusal_reads_the_same_on_both_paths(demo: Registry, shrek) -> None:
    for args in (("submit", "sP99zz"), ("submit", "sP22aa/nosuchstep", "--detach")):
        done = _run(demo.root, *args)
        typer_done = shrek(*args, cwd=demo.root)
        assert done.returncode == typer_done.code != 0, done.stderr
        assert done.stderr == typer_done.err + "typer loaded: False\n"
        assert "fix:" in done.stderr and "Traceback" not in done.stderr
    (demo.tag_dir("sP22aa-local") / "job" / "demo-pass1.yaml").write_text("jobs: [\n")
    done = _run(demo.root, "submit", "sP22aa", "--detach")
    assert done.returncode == shrek("submit", "sP22aa", "--detach", cwd=demo.root).code != 0
    assert "demo-pass1.yaml:" in done.stderr and "Traceback" not in done.stderr


def test_a_ctrl_c_and_a_bug_end_as_on_the_full_command_line(demo: Registry, tmp_path) -> None:
    ctrl_c = {"SHREK_FAULT_POINT": "command", "SHREK_FAULT_SIGNAL": "INT"}
    interrupted = _run(demo.root, "submit", "sP22aa", "--detach", env=ctrl_c)
    typer_interrupted = _run(demo.root, "-R", ".", "submit", "sP22aa", "--detach", env=ctrl_c)
    assert interrupted.returncode == typer_interrupted.returncode == 130
    assert interrupted.stderr == "shrek: interrupted\ntyper loaded: False\n"
    assert typer_interrupted.stderr == "shrek: interrupted\ntyper loaded: True\n"
    bug = {"SHREK_FAULT_POINT": "command", "SHREK_FAULT_SIGNAL": "RAISE"}
    crashed = _run(demo.root, "submit", "sP22aa", env={**bug, "XDG_CACHE_HOME": str(tmp_path)})
    assert crashed.returncode == 70
    first, second, last = crashed.stderr.splitlines()
    assert first == "shrek: unexpected error (RuntimeError): this is a bug in SHREK"
    (log,) = (tmp_path / "shrek" / "crash").iterdir()
    assert second == f"    fix: please report it with the crash log {log}"
    assert "command: shrek submit sP22aa" in log.read_text()
    assert last == "typer loaded: False"
    assert load_records(demo.tag_dir("sP22aa-local")) == []
