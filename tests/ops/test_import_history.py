"""Every workflow set of the original project's history (``data/shrek2022/README.md``) through
``shrek import`` as a production manager would: one command, a tag that validates and passes
``render --check``, every change written in IMPORT.md at the 2022 file and line it was made
in — or a refusal that names the line and the reason. Four of them then run on the local
backend, with a stand-in ``root.exe`` where the payload calls ROOT."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError
from shrek.ops.freeze import freeze
from shrek.ops.importer import IMPORT_NOTES, ImportRequest, import_2022
from shrek.ops.plan import SubmitRequest
from shrek.ops.submit import submit
from tests.conftest import git
from tests.ops.conftest import wait

DATA = Path(__file__).parent / "data" / "shrek2022"
CHECKOUT = DATA / "checkout"  # the 2022 checkout: relative resources start here
STAND_IN = DATA / "stand-in"  # a root.exe that writes what the MDC2 macros write

IMPORTED = [
    "hf",
    "chain5",
    "simple-2to1",
    "simple-chain",
    "simple-chain-regexds",
    "sleepytime",
    "runprocessor",
    "single-task-no-input",
    "single-task-with-resources",
    "simulation-task",
    "sphenix-charm",
    "sphenix-minbias",
    "hf-pp200-signal",
    "hf-pp200-charm",
    "event-builder",
    "prodemu",
]

# What each kind of note is about: the 2022 line it names must hold it.
NOTE_SUBJECTS = [
    (re.compile(r"^(\$\{?[0-9@*]\}?) \(2022's job argument\)"), lambda m: m[1]),
    (re.compile(r"^input arrays quoted"), lambda m: "${IN"),
    (re.compile(r"^a write to a site's disk|^output sent to a site's disk"), lambda m: "/sphenix"),
    (re.compile(r"^a site path \((/\w+)"), lambda m: m[1]),
    (re.compile(r"^uniqueId \(2022's job number\)"), lambda m: "uniqueId"),
    (re.compile(r"^\$\{build\} reads"), lambda m: "build"),
    (re.compile(r"^\$\{shrek_tag\}"), lambda m: "shrek_tag"),
    (re.compile(r"^the build's set-up line is removed"), lambda m: "sphenix_setup.sh"),
    (re.compile(r"^file filter match: (\S+):"), lambda m: m[1]),
    (re.compile(r"^\$\{(\w+)\} is not set in 2022's file"), lambda m: m[1]),
    (re.compile(r"^\$\{name\} \(2022 exported"), lambda m: "name:"),
    (re.compile(r"^maxAttempt is empty"), lambda m: "maxAttempt"),
    (re.compile(r"^addmetadata"), lambda m: "addmetadata"),
    (re.compile(r"^output regex (\S+):"), lambda m: m[1]),
    (re.compile(r"^nJobs"), lambda m: "nJobs"),
    (re.compile(r"^build (\S+): the tag"), lambda m: m[1]),
]


def _note_lines(notes: str) -> list[tuple[str, int, str]]:
    """(file, line, what) of each IMPORT.md entry that names a place in a 2022 file."""
    found = []
    for entry in re.finditer(r"^- `([^`:]+):(\d+)`: (.*)$", notes, re.M):
        found.append((entry[1], int(entry[2]), entry[3]))
    return found


@pytest.mark.parametrize("workflow", IMPORTED)
def test_each_historical_set_imports_validates_renders_and_says_where(
    registry: Registry, shrek, tmp_path: Path, workflow: str
) -> None:
    beside = workflow == "hf"  # its resources lie beside its files, where 2022 ran it
    root = [] if beside else ["--resources-root", str(CHECKOUT)]
    done = shrek("import", str(DATA / workflow), "--build", "mdc2.8", *root, cwd=registry.root)
    assert done.code == 0, done.out + done.err
    tag = done.out.split()[1].removeprefix("tags/")
    assert shrek("validate", tag, cwd=registry.root).code == 0
    checked = shrek("render", tag, "-o", str(tmp_path / "out"), "--check", cwd=registry.root)
    assert checked.code == 0, checked.out + checked.err
    notes = _note_lines((registry.tag_dir(tag) / IMPORT_NOTES).read_text())
    assert notes
    for file, line, what in notes:
        source = (DATA / workflow / file).read_text().splitlines()
        assert 1 <= line <= len(source), (file, line, what)
        for pattern, subject in NOTE_SUBJECTS:
            if match := pattern.search(what):
                assert subject(match) in source[line - 1], (file, line, what, source[line - 1])
                break


def test_a_set_that_cannot_be_carried_over_is_refused_with_the_line_and_why(
    registry: Registry, tmp_path: Path
) -> None:
    """2023's pfnList (a file of physical file names as input), and a file filter that would
    read only some of another step's files (whose names SHREK gives them), have no SHREK
    meaning: the import stops, naming the line, and nothing is created."""
    before = git(registry.root, "rev-parse", "HEAD")
    with pytest.raises(ShrekError) as pfn:
        import_2022(
            registry,
            ImportRequest(DATA / "rhic2023-calor", build="mdc2.8", resources_root=CHECKOUT),
        )
    assert str(pfn.value).startswith("shrek: runEventCombine.yaml:10: pfnList")
    assert pfn.value.code == ExitCode.INVALID
    narrowed = tmp_path / "chain5"
    shutil.copytree(DATA / "chain5", narrowed)
    combine = narrowed / "combine.yaml"
    combine.write_text(combine.read_text().replace("match: klm.root", "match: klm-1*.root"))
    with pytest.raises(ShrekError) as match:
        import_2022(registry, ImportRequest(narrowed, build="mdc2.8"))
    assert "combine.yaml:10: input pre_mix/outDS reads only the files of its step matching" in (
        str(match.value)
    )
    assert git(registry.root, "rev-parse", "HEAD") == before
    assert not list((registry.root / "tags").glob("sP*"))


def test_a_resource_that_is_not_there_stops_the_import(registry: Registry) -> None:
    """Without the 2022 checkout the MDC2 macros are missing: every job would fail, so the
    import stops, naming each Resources line and the option that finds them."""
    with pytest.raises(ShrekError) as missing:
        import_2022(registry, ImportRequest(DATA / "sphenix-charm", build="mdc2.8"))
    assert missing.value.code == ExitCode.NOT_FOUND
    assert "--resources-root" in missing.value.fix
    (finding,) = missing.value.findings
    assert (finding.file, finding.line, finding.column) == ("runCharmSimu.yaml", 16, 11)
    with pytest.raises(ShrekError) as nowhere:
        import_2022(
            registry,
            ImportRequest(DATA / "sphenix-charm", build="mdc2.8", resources_root=DATA / "no"),
        )
    assert nowhere.value.code == ExitCode.NOT_FOUND and "is not a directory" in str(nowhere.value)
    assert not list((registry.root / "tags").glob("sP*"))


def test_variables_2022_exported_or_took_from_its_command_line_are_parameters(
    registry: Registry,
) -> None:
    sleepy = import_2022(registry, ImportRequest(DATA / "sleepytime", build="mdc2.8", year=22))
    step = yaml.safe_load((registry.tag_dir(sleepy.tag) / "job" / "top.yaml").read_text())
    assert step["parameters"] == {"SLEEP_MIN": "", "SLEEP_MAX": ""}
    assert any("--SLEEP_MIN=VALUE" in str(n) for n in sleepy.notes)
    builder = import_2022(registry, ImportRequest(DATA / "event-builder", build="mdc2.8", year=22))
    step = yaml.safe_load(
        (registry.tag_dir(builder.tag) / "job" / "bob-the-event-builder.yaml").read_text()
    )
    assert "rn=$(( (SHREK_SEQ/nSeg) % 50 + mnRun ))" in step["command"]
    assert "# shrek import: mkdir" not in step["command"]
    assert step["command"].count("addmetadata()") == 1


# -- on the local backend ----------------------------------------------------------------------


def _stand_in_build(registry: Registry) -> Registry:
    """The ``local`` build's set-up puts the stand-in ``root.exe`` on PATH, as a real build's
    set-up puts ROOT there."""
    settings = registry.root / "shrek.yaml"
    settings.write_text(
        settings.read_text().replace(
            '  local:\n    setup: ":"\n', f'  local:\n    setup: export PATH="{STAND_IN}:$PATH"\n'
        )
    )
    git(registry.root, "commit", "-qam", "the stand-in build")
    return Registry.open(registry.root)


def _run(registry: Registry, workflow: str) -> dict[str, tuple[str, int]]:
    imported = import_2022(
        registry, ImportRequest(DATA / workflow, build="local", year=22, resources_root=CHECKOUT)
    )
    assert not imported.findings, imported.findings
    freeze(registry, imported.tag)
    result = submit(
        registry,
        SubmitRequest(imported.tag.partition("-")[0]),
        wait=wait,
    )
    return {r.step: (r.state, r.data["jobs"]["done"]) for r in result.records}


def test_the_seven_step_hf_chain_runs_on_the_local_backend(registry: Registry) -> None:
    """workflows/HF_pp200_signal, payloads unchanged: 10 charm and 50 minimum-bias jobs, pile-up
    (5 minimum-bias files per charm file, reused), tracking in two passes, calorimetry, and the
    merge of both — each step done, with the job count 2022's files gave it."""
    assert _run(_stand_in_build(registry), "hf-pp200-signal") == {
        "pythia8-charm-simulation": ("done", 10),
        "pythia8-minb-simulation": ("done", 50),
        "pythia8-charm-pileup": ("done", 10),
        "pythia8-pass3-track": ("done", 10),
        "pythia8-pass4-track": ("done", 10),
        "pythia8-calorimeter": ("done", 10),
        "merge-outputs": ("done", 10),
    }


@pytest.mark.parametrize(
    ("workflow", "expected"),
    [
        (
            "runprocessor",
            {
                "trackers": ("done", 40),
                "calorimeters": ("done", 20),
                "triggers": ("done", 1),
                "runprocessor": ("done", 1),
            },
        ),
        ("simple-chain-regexds", {"top": ("done", 10), "bottom": ("done", 10)}),
        ("single-task-with-resources", {"top": ("done", 3)}),
    ],
)
def test_other_historical_sets_run_on_the_local_backend(
    registry: Registry, workflow: str, expected: dict
) -> None:
    assert _run(_stand_in_build(registry), workflow) == expected


def test_a_file_filter_on_an_external_dataset_reads_what_2022_read(registry: Registry) -> None:
    """workflows/prodemu reads 39 raw-data files per job, only those of run 273 (match:
    "*00000273*.evt", found anywhere in the name as PanDA finds it), beside one G4 hits file:
    with 39 such files and 5 of another run registered, one job runs, and it reads those 39."""
    from shrek.catalogs.factory import open_catalog
    from shrek.ops.dataset import add_files

    raw = registry.root.parent / "raw"
    raw.mkdir()
    for run, count in (("00000273", 39), ("00000274", 5)):
        for n in range(count):
            (raw / f"junk-{run}-{n:04d}.evt").write_text(f"{run} {n}\n")
    (raw / "G4Hits-0006-0000.root").write_text("hits\n")
    catalog = open_catalog(registry)
    add_files(catalog, "group.sphenix:mdc2.rawdata.junk.rhic2023-03-29", sorted(raw.glob("*.evt")))
    add_files(
        catalog,
        "group.sphenix:mdc2.shijing_hepmc.fm_0_20.g4hits.run0006",
        sorted(raw.glob("*.root")),
    )
    registry = _stand_in_build(registry)
    assert _run(registry, "prodemu") == {"bob-the-calorimeter": ("done", 1)}
    (record,) = (registry.root / ".shrek" / "store" / ".provenance").rglob("*.json")
    read = [f["name"] for f in json.loads(record.read_text())["inputs"]]
    assert len(read) == 40 and "G4Hits-0006-0000.root" in read
    assert sum("-00000273-" in name for name in read) == 39
