"""Rendering: golden files, wrappers executed for real, the 4-step chain, and --check."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shrek.backends.panda.checks import check
from shrek.core.model import load_tag
from shrek.core.registry import Registry
from shrek.core.render import EXIT_OUTPUT, EXIT_RESOURCE, EXIT_SETUP, EXIT_USAGE
from shrek.errors import ExitCode
from shrek.ops.render import render, render_target
from tests.conftest import GOLDEN as GOLDEN_DIR
from tests.conftest import PROJECT, write_hf_chain, write_step

GOLDEN = GOLDEN_DIR / "sP22aa-mdc2.7"
UPDATE = os.environ.get("SHREK_UPDATE_GOLDEN") == "1"


# -- golden files of the example production --------------------------------------------------


def _rendered_files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_example_tag_matches_golden_files(tmp_path: Path) -> None:
    registry = Registry.open(PROJECT)
    render_target(registry, "sP22aa", tmp_path / "out")
    files = {
        k: v
        for k, v in _rendered_files(tmp_path / "out").items()
        if k.endswith((".sh", ".cwl", ".yaml", ".prun")) and not k.startswith("sandbox/bin/")
    }
    if UPDATE:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for name, data in files.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    golden = _rendered_files(GOLDEN)
    assert sorted(files) == sorted(golden)
    for name in golden:
        assert files[name].decode() == golden[name].decode(), (
            f"{name} differs from tests/golden (re-run with SHREK_UPDATE_GOLDEN=1 if intended)"
        )


def test_rendering_is_byte_identical(tmp_path: Path) -> None:
    registry = Registry.open(PROJECT)
    render_target(registry, "sP22aa", tmp_path / "a")
    render_target(registry, "sP22aa-mdc2.7", tmp_path / "b")
    assert _rendered_files(tmp_path / "a") == _rendered_files(tmp_path / "b")


def test_manifest_lists_exactly_the_sandbox(tmp_path: Path) -> None:
    registry = Registry.open(PROJECT)
    render_target(registry, "sP22aa/hfprod-pass1", tmp_path)
    manifest = yaml.safe_load((tmp_path / "manifest.yaml").read_text())
    listed = sorted(f["path"] for f in manifest["files"])
    on_disk = sorted(
        p.relative_to(tmp_path / "sandbox").as_posix()
        for p in (tmp_path / "sandbox").rglob("*")
        if p.is_file()
    )
    assert (
        listed
        == on_disk
        == [
            "bin/run_hfprod.sh",
            "hfprod-pass1.sh",
            "inputs.yaml",
            "macros/Fun4All_G4_HF_pp_signal.C",
            "prun.cwl",
            "workflow.cwl",
        ]
    )
    assert manifest["steps"] == ["hfprod-pass1"]


# -- wrappers executed for real -------------------------------------------------------------

HOSTILE = {
    "spaces": "This is a test",
    "quotes": "it's \"quoted\" 'twice'",
    "subshell": "$(touch PWNED_SUBSHELL; rm -rf ~)",
    "backticks": "`touch PWNED_BACKTICK`",
    "newlines": "line one\nline two\n\nline four",
    "unicode": "Ä ö ü — 粒子物理 🚀",
    "dollar": "$HOME ${PATH} $1 $@",
    "backslash": "a\\b\\\\c \\n",
    "glob": "* ? [a-z]",
    "option": "--help",
    "semicolon": "x; touch PWNED_SEMICOLON",
    "spaces_around": "  padded  ",
}


def render_local(registry: Registry, tmp_path: Path) -> Path:
    out = tmp_path / "rendered"
    render_target(registry, "sP22aa", out)
    return out / "sandbox"


def run_job(sandbox: Path, workdir: Path, *args: str, home: Path | None = None):
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home or workdir)}
    return subprocess.run(
        ["bash", str(sandbox / f"{args[0]}.sh"), *args[1:]],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
    )


def test_hostile_parameters_arrive_byte_for_byte(runnable: Registry, tmp_path: Path) -> None:
    payload = "".join(f'printf %s "${{{name}}}" > {name}.out\n' for name in HOSTILE)
    write_step(
        runnable,
        "gen",
        parameters=HOSTILE,
        jobs=1,
        command=payload + "touch out.dat\n",
        outputs=[{"name": "data", "files": "out.dat"}],
    )
    sandbox = render_local(runnable, tmp_path)
    home = tmp_path / "home"
    (home / "canary").mkdir(parents=True)
    work = tmp_path / "job"
    result = run_job(sandbox, work, "gen", "7", home=home)
    assert result.returncode == 0, result.stderr
    for name, value in HOSTILE.items():
        assert (work / f"{name}.out").read_text(encoding="utf-8") == value, name
    assert (home / "canary").is_dir(), "a parameter value was executed"
    assert not list(work.glob("PWNED*")), "a parameter value was executed"
    assert (work / "sP22aa-local.gen.data.dat").exists()


# Written plain in the file, these were other values under YAML 1.1 (issue 26): `no` false,
# `1:30` 90, `2022-01-01` a date, `1_000` 1000, `0b101` 5, `on` true.
AS_TYPED = ["no", "yes", "off", "on", "1:30", "2022-01-01", "1_000", "0b101", "12", "1.5", "true"]


def test_parameters_typed_plain_reach_the_job_as_written(
    runnable: Registry, tmp_path: Path
) -> None:
    names = [f"p{n}" for n in range(len(AS_TYPED))]
    step = runnable.tag_dir("sP22aa-local") / "job" / "gen.yaml"
    step.write_text(
        "name: gen\ndescription: test\nparameters:\n"
        + "".join(f"  {name}: {value}\n" for name, value in zip(names, AS_TYPED, strict=True))
        + "jobs: 1\noutputs:\n  - name: data\n    files: out.dat\ncommand: |\n"
        + "".join(f'  printf %s "${{{name}}}" > {name}.out\n' for name in names)
        + "  touch out.dat\n"
    )
    result = run_job(render_local(runnable, tmp_path), tmp_path / "job", "gen", "7")
    assert result.returncode == 0, result.stderr
    arrived = [(tmp_path / "job" / f"{name}.out").read_text() for name in names]
    assert arrived == AS_TYPED


def test_shrek_variables_and_input_arrays(runnable: Registry, tmp_path: Path) -> None:
    write_step(
        runnable,
        "gen",
        jobs=1,
        command="touch a.root\n",
        outputs=[{"name": "events", "files": "*.root"}],
    )
    write_step(
        runnable,
        "use",
        inputs=[
            {"dataset": "mdc2.background", "files_per_job": 3, "secondary": True},
            {"dataset": "gen.events", "files_per_job": 2},
        ],
        command=(
            'printf "%s\\n" "${IN1[@]}" > in1.txt\n'
            'printf "%s\\n" "${IN2[@]}" > in2.txt\n'
            'echo "$SHREK_TAG $SHREK_LABEL $SHREK_BUILD $SHREK_STEP $SHREK_SEQ '
            '$SHREK_JOB $SHREK_TEST_SETUP" > vars.txt\n'
            "touch merged.root\n"
        ),
        outputs=[{"name": "merged", "files": "merged.root"}],
    )
    sandbox = render_local(runnable, tmp_path)
    result = run_job(
        sandbox, tmp_path / "job", "use", "42", "b1.root,b2.root,b3.root", "s1.root,s2.root"
    )
    assert result.returncode == 0, result.stderr
    work = tmp_path / "job"
    assert (work / "in1.txt").read_text().split() == ["b1.root", "b2.root", "b3.root"]
    assert (work / "in2.txt").read_text().split() == ["s1.root", "s2.root"]
    assert (work / "vars.txt").read_text().split() == [
        "sP22aa-local",
        "sP22aa",
        "local",
        "use",
        "42",
        "seq42",
        "ready",
    ]
    assert (work / "shrek-outputs.txt").read_text() == (
        "merged sP22aa-local.use.merged.root merged.root\n"
    )
    cwl = yaml.safe_load((sandbox / "workflow.cwl").read_text())
    # declaration order: IN1 is the secondary stream (%IN2), IN2 the primary (%IN)
    assert cwl["steps"]["use"]["in"]["opt_exec"]["default"] == "bash use.sh %RNDM:0 %IN2 %IN"


@pytest.mark.parametrize(
    ("case", "payload", "outputs", "args", "status", "message"),
    [
        (
            "payload-fails",
            "echo working; exit 3",
            "out.dat",
            ["1"],
            3,
            "payload failed with exit status 3",
        ),
        (
            "output-missing",
            "echo forgot the output",
            "out.dat",
            ["1"],
            EXIT_OUTPUT,
            "declared output 'data' is missing: no file matches out.dat",
        ),
        (
            "output-ambiguous",
            "touch a.dat b.dat",
            "*.dat",
            ["1"],
            EXIT_OUTPUT,
            "declared output 'data' matches 2 files",
        ),
        (
            "early-exit-0",
            "exit 0",
            "out.dat",
            ["1"],
            EXIT_OUTPUT,
            "declared output 'data' is missing",
        ),
        (
            "pipefail",
            "false | cat; touch out.dat",
            "out.dat",
            ["1"],
            1,
            "payload failed with exit status 1",
        ),
        (
            "errexit",
            "false; touch out.dat",
            "out.dat",
            ["1"],
            1,
            "payload failed with exit status 1",
        ),
        ("no-sequence", "touch out.dat", "out.dat", [], EXIT_USAGE, "usage: gen.sh SEQUENCE"),
        (
            "bad-sequence",
            "touch out.dat",
            "out.dat",
            ["x1"],
            EXIT_USAGE,
            "the sequence number must be a number",
        ),
    ],
)
def test_failures_fail_the_job(
    runnable: Registry,
    tmp_path: Path,
    case: str,
    payload: str,
    outputs: str,
    args: list[str],
    status: int,
    message: str,
) -> None:
    write_step(
        runnable,
        "gen",
        jobs=1,
        command=payload + "\n",
        outputs=[{"name": "data", "files": outputs}],
    )
    sandbox = render_local(runnable, tmp_path)
    result = run_job(sandbox, tmp_path / "job", "gen", *args)
    assert result.returncode == status, result.stderr
    assert f"shrek[gen]: {message}" in result.stderr


def test_setup_failure_and_missing_resource(runnable: Registry, tmp_path: Path) -> None:
    tag_dir = runnable.tag_dir("sP22aa-local")
    (tag_dir / "run.sh").write_text("touch out.dat\n")
    write_step(
        runnable,
        "gen",
        jobs=1,
        exec="bash run.sh",
        resources=["run.sh"],
        setup="source /nonexistent/setup.sh",
        outputs=[{"name": "data", "files": "out.dat"}],
    )
    sandbox = render_local(runnable, tmp_path)
    result = run_job(sandbox, tmp_path / "job1", "gen", "1")
    assert result.returncode == EXIT_SETUP and "environment set-up failed" in result.stderr
    write_step(
        runnable,
        "gen",
        jobs=1,
        exec="bash run.sh",
        resources=["run.sh"],
        outputs=[{"name": "data", "files": "out.dat"}],
    )
    sandbox = render_local(runnable, tmp_path)
    result = run_job(sandbox, tmp_path / "job2", "gen", "1")
    assert result.returncode == 0, result.stderr  # run.sh was copied in from the sandbox
    (sandbox / "run.sh").unlink()
    result = run_job(sandbox, tmp_path / "job3", "gen", "1")
    assert result.returncode == EXIT_RESOURCE and "run.sh is missing" in result.stderr


# -- the 4-step heavy-flavour chain ---------------------------------------------------------


def test_four_step_chain_gives_pileup_both_parents(runnable: Registry, tmp_path: Path) -> None:
    write_hf_chain(runnable)
    result = render_target(runnable, "sP22aa", tmp_path / "chain", run_checks=True)
    assert result.rendering.steps == ["minbias", "signal", "pileup", "tracking"]
    assert all(c.ok for c in result.checks), [
        (c.name, c.problems, c.skipped) for c in result.checks
    ]
    cwl = yaml.safe_load((tmp_path / "chain" / "sandbox" / "workflow.cwl").read_text())
    pileup = cwl["steps"]["pileup"]["in"]
    assert pileup["opt_inDS"] == "signal/outDS"
    assert pileup["opt_inDsType"] == {"default": "events"}
    assert pileup["opt_secondaryDSs"] == {"source": ["minbias/outDS"], "linkMerge": "merge_nested"}
    assert pileup["opt_secondaryDsTypes"] == {"default": ["events"]}
    assert "--secondaryDSs IN2#5#%{SECDS1}" in pileup["opt_args"]["default"].replace("'", "")
    assert cwl["steps"]["tracking"]["in"]["opt_inDS"] == "pileup/outDS"
    assert cwl["steps"]["minbias"]["in"]["opt_args"]["default"].split()[2:4] == ["--nJobs", "5"]
    assert list(cwl["outputs"]) == ["tracking_outDS"]


# -- sequence numbers and checks -----------------------------------------------------------


def finished_record(tag: str, step: str, number: int, first: int, last: int) -> str:
    """A finished submission record of ``step`` that used sequences ``first``-``last`` (a
    real one, written by the demo, renamed)."""
    data = yaml.safe_load((PROJECT / "tests/core/data/acceptor/submission.yaml").read_text())
    data.update(tag=tag, step=step, number=number, id=f"{tag}/{step}/{number:04d}")
    data["sequences"] = {step: {"first": first, "last": last}}
    return yaml.safe_dump(data, sort_keys=False)


def test_sequence_numbers_continue_after_earlier_submissions(
    runnable: Registry, tmp_path: Path
) -> None:
    write_step(
        runnable,
        "gen",
        jobs=10,
        exec="touch out.dat",
        outputs=[{"name": "data", "files": "out.dat"}],
    )
    records = runnable.tag_dir("sP22aa-local") / "submissions" / "gen"
    records.mkdir(parents=True)
    for number, first in ((1, 1), (2, 11)):
        (records / f"{number:04d}.yaml").write_text(
            finished_record("sP22aa-local", "gen", number, first, first + 9)
        )
    result = render_target(runnable, "sP22aa/gen", tmp_path / "out")
    cwl = yaml.safe_load((tmp_path / "out" / "sandbox" / "workflow.cwl").read_text())
    assert cwl["steps"]["gen"]["in"]["opt_exec"]["default"] == "bash gen.sh %RNDM:20"
    assert result.rendering.extra["manifest.yaml"].count("gen: 21") == 1


def test_check_reports_what_panda_client_rejects(runnable: Registry, tmp_path: Path, shrek) -> None:
    write_step(
        runnable,
        "gen",
        jobs=1,
        exec="touch out.dat",
        outputs=[{"name": "data", "files": "out.dat"}],
        requirements={"cores": 4},
    )
    result = shrek("render", "sP22aa", "-o", str(tmp_path / "out"), "--check", cwd=runnable.root)
    assert result.code == ExitCode.INVALID
    assert "FAIL prun options accepted by panda-client's own parser" in result.out
    assert "argument --nCore: invalid choice: 4" in result.err
    # seconds of ShellCheck and cwltool are announced before they start, not silent
    assert result.err.startswith("shrek: rendering, then checking it offline (bash -n, ShellCheck")


def test_check_runs_shellcheck_and_names_the_step_line(
    runnable: Registry, tmp_path: Path, shrek
) -> None:
    path = runnable.tag_dir("sP22aa-local") / "job" / "gen.yaml"
    path.write_text(
        "name: gen\ndescription: test\njobs: 1\nparameters: {nevents: 10}\n"
        "outputs: [{name: data, files: out.dat}]\n"
        "command: |\n"
        "  echo start\n"
        '  if [ "${nevents}" > 5 ]; then echo many; fi\n'
        "  touch out.dat\n"
    )
    result = shrek("render", "sP22aa", "-o", str(tmp_path / "out"), "--check", cwd=runnable.root)
    assert result.code == ExitCode.INVALID, result.err
    assert "FAIL ShellCheck on every wrapper and command" in result.out
    # line 8 of gen.yaml holds the comparison: ShellCheck's finding is mapped back to it
    assert "tags/sP22aa-local/job/gen.yaml:8: error:" in result.err
    assert "SC2071" in result.err and "(SHREK's wrapper)" not in result.err


@pytest.mark.parametrize(("fails_on", "fails"), [(None, False), ("warning", True), ("none", False)])
def test_what_fails_shellcheck_is_the_registrys_choice(
    runnable: Registry, tmp_path: Path, shrek, fails_on: str | None, fails: bool
) -> None:
    """A payload whose only finding is a warning (SC2155) passes by default (errors fail),
    fails where shrek.yaml says 'checks: {shellcheck: warning}', and 'none' only reports."""
    write_step(
        runnable,
        "gen",
        jobs=1,
        command='export here=`pwd`\necho "$here" > out.dat',
        outputs=[{"name": "data", "files": "out.dat"}],
    )
    if fails_on is not None:
        settings = runnable.root / "shrek.yaml"
        settings.write_text(settings.read_text() + f"checks:\n  shellcheck: {fails_on}\n")
    result = shrek("render", "sP22aa", "-o", str(tmp_path / "out"), "--check", cwd=runnable.root)
    assert (result.code == ExitCode.INVALID) is fails, result.err
    assert "SC2155" in result.err  # reported, at its line, either way
    assert "tags/sP22aa-local/job/gen.yaml:" in result.err


def test_shreks_own_wrapper_passes_shellcheck(runnable: Registry, tmp_path: Path, shrek) -> None:
    write_step(
        runnable,
        "gen",
        jobs=2,
        parameters={"text": "a b"},
        command='printf "%s\\n" "$text" > out.dat',
        outputs=[{"name": "data", "files": "out.dat"}],
    )
    result = shrek("render", "sP22aa", "-o", str(tmp_path / "out"), "--check", cwd=runnable.root)
    assert "ok   ShellCheck on every wrapper and command" in result.out, result.err
    assert "note:" not in result.err


def test_check_catches_unresolved_placeholders_and_lost_edges(
    runnable: Registry, tmp_path: Path
) -> None:
    write_step(
        runnable,
        "gen",
        jobs=1,
        exec="touch a.root",
        outputs=[{"name": "events", "files": "a.root"}],
    )
    write_step(
        runnable,
        "use",
        inputs=[{"dataset": "gen.events"}],
        exec="touch b.root",
        outputs=[{"name": "out", "files": "b.root"}],
    )
    registry = Registry.open(runnable.root)
    tag, _ = load_tag(registry, "sP22aa-local")
    rendering = render(registry, tag)
    out = tmp_path / "out"
    rendering.write(out)
    workflow = out / "sandbox" / "workflow.cwl"
    data = yaml.safe_load(workflow.read_text())
    data["steps"]["use"]["in"]["opt_inDS"] = "ds_elsewhere"  # the 2022 bug: the edge is lost
    data["steps"]["use"]["in"]["opt_args"]["default"] += " --inDS %{DS1}"
    workflow.write_text(yaml.safe_dump(data))
    problems = {c.name: c.problems for c in check(tag, rendering, out)}
    assert problems["every step present and every dependency an edge"] == [
        "use reads gen's output but workflow.cwl has no gen/outDS edge"
    ]
    assert problems["no unresolved %{...} placeholders"] == [
        "use: opt_args has %{DS1}, which the PanDA server would leave unreplaced"
    ]


def test_render_refuses_invalid_tags_and_unknown_steps(
    runnable: Registry, tmp_path: Path, shrek
) -> None:
    write_step(
        runnable,
        "gen",
        jobs=1,
        exec="echo ${nevent}",
        outputs=[{"name": "data", "files": "out.dat"}],
    )
    result = shrek("render", "sP22aa", "-o", str(tmp_path), cwd=runnable.root)
    assert result.code == ExitCode.INVALID and "uses ${nevent}" in result.err
    write_step(
        runnable,
        "gen",
        jobs=1,
        exec="touch out.dat",
        outputs=[{"name": "data", "files": "out.dat"}],
    )
    result = shrek("render", "sP22aa/gne", "-o", str(tmp_path), cwd=runnable.root)
    assert result.code == ExitCode.NOT_FOUND and "did you mean 'gen'" in result.err


def test_an_unusable_output_directory_is_a_clear_error(shrek) -> None:

    result = shrek("render", "sP22aa", "-o", "/proc/shrek-cannot-write-here", cwd=PROJECT)
    assert result.code == ExitCode.FILESYSTEM
    assert "cannot use /proc/shrek-cannot-write-here" in result.err
