"""What real (2022) productions need from a step, from validation to the jobs: positional
parameters refused, ``max_files``, secondary streams read once, ``force_staged``, the registry's
default site, container names ending in '/', PanDA's name-length limit, and
``submit --first-sequence``."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from shrek.catalogs.factory import open_catalog
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.core.validate import validate
from shrek.errors import ExitCode, ShrekError
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.plan import SubmitRequest
from shrek.ops.render import render_target
from shrek.ops.submit import submit
from tests.conftest import git, write_step
from tests.core.conftest import assert_reported

TAG = "sP22aa-local"
JOB = f"tags/{TAG}/job"
OUT = [{"name": "data", "files": "out.dat"}]


def findings(registry: Registry) -> list[str]:
    return [str(f) for f in validate(Registry.open(registry.root)).findings]


# -- positional parameters -------------------------------------------------------------------


def test_a_script_argument_is_an_error_at_its_line(runnable: Registry) -> None:
    write_step(
        runnable,
        "gen",
        jobs=1,
        command="sn=$(printf %05d 7)\nroot.exe -q -b run.C\\($1\\)\necho done\n",
        outputs=OUT,
    )
    text = (runnable.tag_dir(TAG) / "job" / "gen.yaml").read_text()
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "$1" in t)
    column = text.splitlines()[line - 1].index("$1") + 1
    assert_reported(runnable, f"{JOB}/gen.yaml:{line}:{column}", "uses $1")
    assert any("${SHREK_SEQ}" in f for f in findings(runnable))


@pytest.mark.parametrize(
    "script",
    [
        "awk '{print $1}' list.txt > out.dat",  # single quotes: awk's own field
        "echo \\$1 > out.dat",  # escaped
        "# was: run.sh $1\ntouch out.dat",  # a comment
        'show() { echo "$1" "$@"; }\nshow a b > out.dat',  # a function's own arguments
        'for f in "${IN1[@]}"; do :; done; touch out.dat',  # an array, not $@
    ],
)
def test_what_is_not_a_script_argument_passes(runnable: Registry, script: str) -> None:
    write_step(runnable, "gen", jobs=1, command=script, outputs=OUT)
    assert not [f for f in findings(runnable) if "without arguments" in f]


@pytest.mark.parametrize("use", ["$@", "$*", "${2}"])
def test_every_kind_of_script_argument_is_caught(runnable: Registry, use: str) -> None:
    write_step(runnable, "gen", jobs=1, exec=f"echo {use} > out.dat", outputs=OUT)
    assert any(f"uses {use}" in f for f in findings(runnable))


# -- input options ---------------------------------------------------------------------------


def test_input_options_belong_to_their_kind_of_input(runnable: Registry) -> None:
    write_step(runnable, "gen", jobs=2, exec="touch out.dat", outputs=OUT)
    write_step(
        runnable,
        "use",
        inputs=[
            {"dataset": "gen.data", "reusable": False},
            {"dataset": "mdc2.background/", "secondary": True, "max_files": 3},
            {"dataset": "gen.data/", "secondary": True},
        ],
        exec="touch out.dat",
        outputs=OUT,
    )
    found = "\n".join(findings(runnable))
    assert "'reusable' applies to secondary streams" in found
    assert "'max_files' limits the primary input" in found
    assert "names an output of step 'gen' as a container" in found
    assert "mdc2.background/" not in found  # an external container may end in '/'


def test_a_name_too_long_for_panda_is_refused_with_its_length(runnable: Registry) -> None:
    long_name = "a" * 60
    write_step(
        runnable,
        long_name,
        jobs=1,
        exec="touch out.dat",
        outputs=[{"name": "b" * 40, "files": "out.dat"}],
    )
    found = [f for f in findings(runnable) if "panda-client allows 132" in f]
    assert found and "characters (user." in found[0]


# -- rendering -------------------------------------------------------------------------------


def prun_words(rendering_dir: Path, step: str) -> list[str]:
    return shlex.split((rendering_dir / f"{step}.prun").read_text())


def test_max_files_read_once_streams_staging_and_the_default_site_reach_prun(
    runnable: Registry, tmp_path: Path
) -> None:
    settings = runnable.root / "shrek.yaml"
    settings.write_text(settings.read_text() + "panda:\n  site: BNL_DEFAULT\n")
    write_step(runnable, "gen", jobs=2, exec="touch out.dat", outputs=OUT)
    write_step(
        runnable,
        "merge",
        inputs=[
            {"dataset": "gen.data", "files_per_job": 1, "max_files": 5},
            {"dataset": "mb.a", "secondary": True, "files_per_job": 2},
            {"dataset": "mb.b", "secondary": True, "reusable": False},
        ],
        exec="touch out.dat",
        outputs=OUT,
        requirements={"force_staged": True, "site": "BNL_OWN"},
    )
    rendered = tmp_path / "rendered"
    render_target(Registry.open(runnable.root), "sP22aa", rendered)
    gen, merge = prun_words(rendered, "gen"), prun_words(rendered, "merge")
    assert gen[gen.index("--site") + 1] == "BNL_DEFAULT"  # the registry's default
    assert merge[merge.index("--site") + 1] == "BNL_OWN"  # the step's own wins
    assert merge[merge.index("--nFiles") + 1] == "5" and "--forceStaged" in merge
    assert "--nFiles" not in gen and "--forceStaged" not in gen
    assert merge[merge.index("--secondaryDSs") + 1] == "IN2:2:mb.a,IN3:1:mb.b"
    assert merge[merge.index("--reusableSecondary") + 1] == "IN2"


# -- the local backend -----------------------------------------------------------------------


def frozen_with_inputs(runnable: Registry, tmp_path: Path, counts: dict[str, int]) -> Registry:
    for dataset, count in counts.items():
        stem = dataset.rstrip("/")
        directory = tmp_path / stem
        directory.mkdir()
        for n in range(count):
            (directory / f"{stem}_{n}.txt").write_text(f"{stem} {n}\n")
        add_files(open_catalog(runnable), dataset, sorted(directory.iterdir()))
    git(runnable.root, "add", "-A")
    git(runnable.root, "commit", "-qm", "test step")
    freeze(runnable, TAG)
    return runnable


def test_local_jobs_honour_max_files_and_streams_read_once(
    runnable: Registry, tmp_path: Path
) -> None:
    write_step(
        runnable,
        "merge",
        inputs=[
            {"dataset": "signal", "files_per_job": 1, "max_files": 4},
            {"dataset": "background/", "secondary": True, "files_per_job": 2, "reusable": False},
        ],
        command='cat "${IN1[@]}" "${IN2[@]}" > out.dat',
        outputs=OUT,
    )
    registry = frozen_with_inputs(runnable, tmp_path, {"signal": 6, "background/": 5})
    result = submit(registry, SubmitRequest("sP22aa/merge"), wait=None)
    record = result.records[0]
    # 4 of 6 signal files; the background (5 files, 2 per job, read once) feeds only 2 jobs
    assert record.data["sequences"]["merge"] == {"first": 1, "last": 4}
    record = _finished(registry)
    files = open_catalog(registry).files(record.data["datasets"]["outputs"]["data"])
    contents = sorted(Path(f.location).read_text() for f in files)
    assert contents == [
        "signal 0\nbackground 0\nbackground 1\n",
        "signal 1\nbackground 2\nbackground 3\n",
    ]


def _finished(registry: Registry):
    import time

    from shrek.ops.status import refresh

    for _ in range(600):
        records = refresh(registry, TAG).records
        if records[-1].state not in ("submitting", "submitted", "running"):
            return records[-1]
        time.sleep(0.1)
    raise AssertionError("the submission did not finish")


def test_first_sequence_is_used_and_may_not_reuse_numbers(
    runnable: Registry, tmp_path: Path
) -> None:
    write_step(runnable, "gen", jobs=3, exec="echo $SHREK_SEQ > out.dat", outputs=OUT)
    registry = frozen_with_inputs(runnable, tmp_path, {})
    submit(registry, SubmitRequest("sP22aa/gen", first_sequence=1001), wait=None)
    record = _finished(registry)
    assert record.data["sequences"]["gen"] == {"first": 1001, "last": 1003}
    with pytest.raises(ShrekError) as refused:
        submit(registry, SubmitRequest("sP22aa/gen", again=True, first_sequence=1003), wait=None)
    assert refused.value.code == ExitCode.CONFLICT
    assert "1001-1003" in refused.value.message
    submit(registry, SubmitRequest("sP22aa/gen", again=True), wait=None)
    _finished(registry)
    last = load_records(registry.tag_dir(TAG))[-1]
    assert last.data["sequences"]["gen"] == {"first": 1004, "last": 1006}


def test_a_container_name_ending_in_a_slash_can_be_registered(
    registry: Registry, tmp_path: Path
) -> None:
    path = tmp_path / "f.root"
    path.write_text("x")
    info = add_files(open_catalog(registry), "mc16_5TeV.minbias.HITS/", [path])
    assert info.name == "mc16_5TeV.minbias.HITS/" and info.files == 1
