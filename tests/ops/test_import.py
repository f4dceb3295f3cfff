"""``shrek import``: 2022 job-definition files become one validated, committed tag.

The fixtures in ``data/shrek2022/`` are written in the 2022 format: ``hf`` is a 4-step
heavy-flavour chain with an input-only file (external datasets, one a container ending in
'/'), a three-input merge, site paths, the build's set-up line and ``uniqueId``; ``chain5`` is
pchain's "more complicated chain" in five steps. PanDA's own parser checks the imported
workflows (tests/backends/test_panda_server_parser.py); here the translation, the notes, the
refusals, and the 4-step chain running on the local backend with stand-in payloads.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from shrek.catalogs.factory import open_catalog
from shrek.core.ledger import read_ledger
from shrek.core.legacy import kebab
from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.importer import IMPORT_NOTES, ImportRequest, import_2022
from shrek.ops.plan import SubmitRequest
from shrek.ops.submit import submit
from tests.conftest import git
from tests.ops.conftest import wait

DATA = Path(__file__).parent / "data" / "shrek2022"
HF_STEPS = [
    "pythia8-charm-simulation",
    "pythia8-charm-pileup",
    "pythia8-charm-merge",
    "pythia8-charm-tracking",
]


def step(registry: Registry, tag: str, name: str) -> dict:
    return yaml.safe_load((registry.tag_dir(tag) / "job" / f"{name}.yaml").read_text())


def test_names_become_kebab_case() -> None:
    assert kebab("Pythia8CharmSimulation") == "pythia8-charm-simulation"
    assert kebab("make_background_1") == "make-background-1"
    assert kebab("HFProdPass2") == "hf-prod-pass2"


def test_the_hf_chain_imports_as_one_valid_committed_tag(registry: Registry) -> None:
    imported = import_2022(registry, ImportRequest(DATA / "hf", build="mdc2.8", year=22))
    assert imported.tag == "sP22a-mdc2.8" and not imported.findings
    assert git(registry.root, "status", "--porcelain") == ""
    assert git(registry.root, "log", "-1", "--format=%H") == imported.commit
    entries, _ = read_ledger(registry.root)
    assert [(e.label, e.tag) for e in entries][-1] == ("sP22a", "sP22a-mdc2.8")
    tag = imported.tag
    assert sorted(p.stem for p in (registry.tag_dir(tag) / "job").glob("*.yaml")) == sorted(
        HF_STEPS
    )
    sim = step(registry, tag, "pythia8-charm-simulation")
    assert sim["jobs"] == 4 and sim["parameters"]["flavor"] == "Charm"
    assert sim["requirements"] == {"max_attempts": 1, "memory_mb": 2000}
    assert sim["outputs"] == [{"name": "outds", "files": "G4Hits-*.root"}]
    assert sim["resources"] == ["Fun4All_G4_HF_pp_signal.C", "run_pass1.sh"]
    assert "sphenix_setup.sh" not in sim["command"]
    assert "${SHREK_SEQ}" in sim["command"] and "uniqueId" not in sim["command"]
    assert "# shrek import: cp pass1-" in sim["command"]
    pileup = step(registry, tag, "pythia8-charm-pileup")
    assert pileup["inputs"] == [
        {"dataset": "pythia8-charm-simulation.outds", "files_per_job": 1},
        {
            "dataset": "mdc2.pythia8_pp_mb.g4hits/",
            "secondary": True,
            "reusable": True,
            "files_per_job": 2,
        },
    ]
    # every 2022 step with inputs ran with --forceStaged
    assert pileup["requirements"] == {"max_attempts": 3, "memory_mb": 4000, "force_staged": True}
    merge = step(registry, tag, "pythia8-charm-merge")
    assert [(i["dataset"], i["files_per_job"], i.get("reusable")) for i in merge["inputs"]] == [
        ("pythia8-charm-pileup.outds", 2, None),
        ("pythia8-charm-simulation.outds", 2, False),  # absent in 2022: read once
        ("mdc2.calib.constants", 1, True),
    ]
    assert merge["requirements"]["site"] == "BNL_OSG_SPHENIX"
    tracking = step(registry, tag, "pythia8-charm-tracking")
    assert tracking["inputs"] == [
        {"dataset": "pythia8-charm-merge.outds", "max_files": 2, "files_per_job": 1}
    ]
    # each step's resources in its own directory, arriving flat in its jobs, as 2022's
    # 'cp -R __<name>/* .' gave them
    assert sim["resource_dir"] == "resources/pythia8-charm-simulation"
    assert (registry.tag_dir(tag) / "resources" / "pythia8-charm-pileup" / "run_pass2.sh").is_file()


def test_what_is_not_carried_over_is_listed_with_file_and_line(registry: Registry) -> None:
    imported = import_2022(registry, ImportRequest(DATA / "hf", build="mdc2.7", year=22))
    notes = {str(n) for n in imported.notes}
    text = (registry.tag_dir(imported.tag) / IMPORT_NOTES).read_text()
    source = (DATA / "hf" / "runPassTracking.yaml").read_text().splitlines()
    when = next(n for n, t in enumerate(source, 1) if t.strip().startswith("when:"))
    manifest = next(n for n, t in enumerate(source, 1) if "/sphenix/u/" in t)
    expected = [
        f"runPassTracking.yaml:{when}: 'when: $(inputs.run_tracking)'",
        f"runPassTracking.yaml:{manifest}: output sent to a site's disk is written into the "
        "job directory instead: ls > /sphenix/u/sphnxpro/PanDa/tracking-${SHREK_SEQ}.manifest "
        "-> ls > tracking-${SHREK_SEQ}.manifest",
        "runPassTracking.yaml:7: PanDA option nSkipFiles=0",
        "runPass1.yaml:23: the build's set-up line is removed",
        "runPass1.yaml:3: build mdc2.8: the tag is built with mdc2.7",
    ]
    for start in expected:
        assert any(n.startswith(start) for n in notes), (start, notes)
        assert f"`{start.split(': ', 1)[0]}`" in text


def test_job_arguments_are_mapped_to_what_held_their_values(
    registry: Registry, tmp_path: Path
) -> None:
    source = tmp_path / "jobs"
    shutil.copytree(DATA / "chain5", source)
    path = source / "make_background_2.yaml"
    text = path.read_text()
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "echo $uniqueId" in t)
    path.write_text(text.replace("echo $uniqueId", "echo $1 $2 $@ $5"))
    imported = import_2022(registry, ImportRequest(source, build="mdc2.7", year=22))
    notes = [str(n) for n in imported.notes]
    where = f"make_background_2.yaml:{line}: "
    # 2022 ran 'job.sh <uniqueId> <IN1 files,> ...': each argument reads what held its value
    assert f"{where}$1 (2022's job argument) reads ${{SHREK_SEQ}}" in notes
    assert f"{where}$5 (2022's job argument) reads ${{SHREK_SEQ:+}}" in notes
    assert not imported.findings, imported.findings  # the tag validates: nothing left to edit
    step = yaml.safe_load(
        (registry.tag_dir(imported.tag) / "job" / "make-background-2.yaml").read_text()
    )
    assert "echo ${SHREK_SEQ} " in step["command"]


def test_collisions_and_existing_labels_are_refused(registry: Registry, tmp_path: Path) -> None:
    import_2022(
        registry, ImportRequest(DATA / "chain5", build="mdc2.7", label="sP22aa", skip_to=True)
    )
    with pytest.raises(ShrekError) as again:
        import_2022(
            registry, ImportRequest(DATA / "chain5", build="mdc2.7", label="sP22aa", skip_to=True)
        )
    assert again.value.code == ExitCode.CONFLICT
    source = tmp_path / "jobs"
    shutil.copytree(DATA / "chain5", source)
    clash = source / "pre_mix.yaml"
    clash.write_text(clash.read_text().replace("name: pre_mix\n", "name: PreMix\n", 1))
    (source / "pre-mix.yaml").write_text(
        (DATA / "chain5" / "pre_mix.yaml").read_text().replace("name: pre_mix", "name: pre-mix")
    )
    with pytest.raises(ShrekError) as collision:
        import_2022(registry, ImportRequest(source, build="mdc2.7", year=22))
    assert collision.value.code == ExitCode.CONFLICT and "becomes 'pre-mix'" in str(collision.value)


def test_the_command_line_prints_the_notes(registry: Registry, shrek) -> None:
    result = shrek(
        "import", str(DATA / "chain5"), "--build", "mdc2.7", "--year", "22", cwd=registry.root
    )
    assert result.code == 0, result.err
    assert re.search(r"created tags/sP22[a-z]+-mdc2.7 ", result.out)
    assert "combine.yaml:10: file filter match: klm.root" in result.out
    assert "the tag validates" in result.out
    missing = shrek("import", str(DATA / "nothing-here"), "--build", "mdc2.7")
    assert missing.code == ExitCode.NOT_FOUND and "Traceback" not in missing.err


def test_the_imported_hf_chain_runs_on_the_local_backend(
    registry: Registry, tmp_path: Path
) -> None:
    """Two steps that both ship a G4_Production.C, as every MDC2 set does: each job finds its
    own step's file in its working directory (the job fails otherwise)."""
    source = tmp_path / "hf"
    shutil.copytree(DATA / "hf", source)
    for rundir, step_file in (("pass1", "runPass1.yaml"), ("pass2", "runPass2.yaml")):
        (source / "rundir" / rundir / "G4_Production.C").write_text(f"// {rundir} production\n")
        path = source / step_file
        path.write_text(
            path.read_text().rstrip("\n") + f'\n  grep -q "{rundir} production" G4_Production.C\n'
        )
    imported = import_2022(registry, ImportRequest(source, build="local", year=22))
    assert not imported.findings
    external = tmp_path / "external"
    external.mkdir()
    for n in range(5):
        (external / f"mb_{n}.root").write_text(f"minbias {n}\n")
    (external / "calib.db").write_text("calibration\n")
    catalog = open_catalog(registry)
    add_files(catalog, "mdc2.pythia8_pp_mb.g4hits/", sorted(external.glob("mb_*.root")))
    add_files(catalog, "mdc2.calib.constants", [external / "calib.db"])
    freeze(registry, imported.tag)
    result = submit(
        registry,
        SubmitRequest("sP22a"),
        wait=wait,
    )
    states = {r.step: (r.state, r.data["jobs"]["done"]) for r in result.records}
    assert states == {
        "pythia8-charm-simulation": ("done", 4),
        "pythia8-charm-pileup": ("done", 4),
        "pythia8-charm-merge": ("done", 2),  # 4 pile-up files, 2 per job
        "pythia8-charm-tracking": ("done", 2),  # nFiles 2 of the merged files
    }
    merged = catalog.files(
        next(r for r in result.records if r.step == "pythia8-charm-merge").data["datasets"][
            "outputs"
        ]["outds"]
    )
    first = Path(merged[0].location).read_text()
    assert "Fun4All_G4_Pileup_pp.C" not in first  # the payload's own output, not its macro
    assert first.count("minbias") == 4 and "calibration" in first


def test_2022s_exported_names_and_defaults_are_mapped(registry: Registry, tmp_path: Path) -> None:
    """${name} and ${shrek_tag}, which 2022's job script exported, and an empty maxAttempt
    (2022: one attempt) import into a tag that validates, each mapping noted at its line."""
    source = tmp_path / "jobs"
    shutil.copytree(DATA / "chain5", source)
    path = source / "make_background_2.yaml"
    text = path.read_text().replace(
        "echo $uniqueId > ooo.root", 'echo "${name} of $shrek_tag" > ooo.root'
    )
    path.write_text(text.replace("Parameters:\n", "Parameters:\n  maxAttempt:\n", 1))
    imported = import_2022(registry, ImportRequest(source, build="mdc2.7", year=22))
    assert not imported.findings, imported.findings
    notes = [str(n) for n in imported.notes]
    assert any(
        n.startswith("make_background_2.yaml:") and "maxAttempt is empty: 1" in n for n in notes
    )
    assert any("${name} (2022 exported the step's name): kept as the parameter" in n for n in notes)
    assert any("${shrek_tag} (2022's tag name) reads ${SHREK_TAG}" in n for n in notes)
    step = yaml.safe_load(
        (registry.tag_dir(imported.tag) / "job" / "make-background-2.yaml").read_text()
    )
    assert step["requirements"]["max_attempts"] == 1
    assert step["parameters"]["name"] == "make_background_2"
    assert 'echo "${name} of ${SHREK_TAG}" > ooo.root' in step["command"]


def test_edges_by_exact_output_names_are_kept(registry: Registry, tmp_path: Path) -> None:
    """2022 linked an input to the output of the same name, whatever the name: an edge; an
    input that names nothing known is a finding, never a silent external dataset."""
    source = tmp_path / "jobs"
    shutil.copytree(DATA / "simple-2to1", source)
    for name, old, new in [
        ("top1.yaml", "name: top1/outDS", "name: tarball_of_top1"),
        ("bottom.yaml", "name: top1/outDS", "name: tarball_of_top1"),
        ("bottom.yaml", "name: top2/outDS", "name: from_nowhere"),
    ]:
        path = source / name
        path.write_text(path.read_text().replace(old, new))
    imported = import_2022(registry, ImportRequest(source, build="mdc2.7", year=22))
    bottom = step(registry, imported.tag, "bottom")
    assert bottom["inputs"][0]["dataset"] == "top1.tarball-of-top1"
    assert step(registry, imported.tag, "top1")["outputs"][0]["name"] == "tarball-of-top1"
    (finding,) = imported.findings
    assert "bottom.yaml:10: input 'from_nowhere' names no output of another step" in (
        finding.message
    )


def test_a_command_line_placeholder_says_what_to_set(registry: Registry, tmp_path: Path) -> None:
    source = tmp_path / "jobs"
    shutil.copytree(DATA / "chain5", source)
    path = source / "input.yaml"
    text = path.read_text().splitlines()
    text[2] = "    datasets: CHARM_INPUT"
    path.write_text("\n".join(text) + "\n")
    imported = import_2022(registry, ImportRequest(source, build="mdc2.7", year=22))
    assert any(
        "CHARM_INPUT was filled in on 2022's command line at submission" in str(n)
        and "shrek dataset add CHARM_INPUT" in str(n)
        for n in imported.notes
    )


def test_the_site_comes_from_an_option_or_the_registry_and_is_said(
    registry: Registry, shrek, tmp_path: Path
) -> None:
    plain = import_2022(registry, ImportRequest(DATA / "simple-2to1", build="mdc2.7", year=22))
    assert any(str(n).startswith("scope: outputs go to user.<your PanDA") for n in plain.notes)
    (said,) = [str(n) for n in plain.notes if str(n).startswith("site: no site for")]
    assert all(name in said for name in ("top1", "top2", "bottom")) and "--site SITE" in said
    chosen = shrek(
        "import",
        str(DATA / "simple-2to1"),
        "--build",
        "mdc2.7",
        "--site",
        "BNL_OSG_SPHENIX",
        cwd=registry.root,
    )
    assert chosen.code == 0, chosen.err
    assert "site: BNL_OSG_SPHENIX (from --site) for the steps that named none" in chosen.out
    tag = chosen.out.split()[1].removeprefix("tags/")
    assert step(registry, tag, "bottom")["requirements"]["site"] == "BNL_OSG_SPHENIX"
    notes = (registry.tag_dir(tag) / IMPORT_NOTES).read_text()
    assert "- site: BNL_OSG_SPHENIX (from --site)" in notes


def test_the_seven_step_charm_chain_keeps_every_edge_2022_linked(registry: Registry) -> None:
    """The original project's tests/pythia8-charm-simulation (7 steps, linked by exact dataset
    names): the four edges the names make are kept; the three inputs whose name no step
    writes (the chain was edited half-way in 2022) are findings, each at its file and line."""
    imported = import_2022(
        registry,
        ImportRequest(DATA / "charm7", build="mdc2.8", year=22, resources_root=DATA / "checkout"),
    )
    fitting = step(registry, imported.tag, "pythia8-charm-track-fitting")
    assert [i["dataset"] for i in fitting["inputs"]] == [
        "pythia8-charm-track-finding.pythia8charmtrackingseeds",
        "pythia8-charm-calibration.pythia8charmcalibrationdata",
    ]
    physics = step(registry, imported.tag, "pythia8-charm-physics-dst")
    assert [i["dataset"] for i in physics["inputs"]] == [
        "pythia8-charm-track-fitting.pythia8charmtrackingdst",
        "pythia8-charm-calorimeter.pythia8charmcalorimeterdst",
    ]
    pileup = step(registry, imported.tag, "pythia8-charm-pileup")
    assert pileup["inputs"][0]["dataset"] == "pythia8-charm-simulation.outds"
    assert sorted(f.message.split(":")[0] for f in imported.findings) == [
        "runPassCalib.yaml",
        "runPassCalo.yaml",
        "runPassTrackFinding.yaml",
    ]
    assert all("'Pythia8CharmPileupG4Hits' names no output" in f.message for f in imported.findings)


def test_the_two_to_one_chain_runs_as_2022_ran_it(registry: Registry) -> None:
    """simple-chain-2to1's own payloads, unchanged, on the local backend: its bottom step
    lists directories that exist only on 2022's workers, which 2022's script (no -e) went
    past; imported, it runs the same way, and every step is done."""
    imported = import_2022(registry, ImportRequest(DATA / "simple-2to1", build="local", year=22))
    assert not imported.findings
    command = step(registry, imported.tag, "bottom")["command"]
    assert command.startswith("set +euo pipefail  # shrek import")
    freeze(registry, imported.tag)
    result = submit(
        registry,
        SubmitRequest(imported.tag.partition("-")[0]),
        wait=wait,
    )
    states = {r.step: (r.state, r.data["jobs"]["done"]) for r in result.records}
    assert states == {"top1": ("done", 1), "top2": ("done", 5), "bottom": ("done", 1)}
