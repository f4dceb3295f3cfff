"""Registries and tags through the real CLI, on real temporary git repositories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shrek.core.registry import Registry
from shrek.core.validate import validate
from shrek.errors import ExitCode
from shrek.ops.tag import TagRequest, new_tag
from tests.conftest import git


def test_new_user_flow_init_template_validate(tmp_path: Path, shrek) -> None:
    """The README's first steps: init, tag new from the template, validate; all committed."""
    assert shrek("init", str(tmp_path / "prod")).code == 0
    root = tmp_path / "prod"
    for name in ("shrek.yaml", "tags", "labels.ledger", ".gitignore"):
        assert (root / name).exists(), name
    assert ".shrek/" in (root / ".gitignore").read_text()
    result = shrek(
        "tag", "new", "--skip-to", "sP22aa", "--build", "mdc2.7", "--template", "hfprod", cwd=root
    )
    assert result.code == 0, result.err
    assert "created tags/sP22aa-mdc2.7" in result.out
    result = shrek("validate", cwd=root)
    assert result.code == 0, result.err
    assert "ok: 1 tag(s) valid" in result.out
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "log", "--format=%s").splitlines() == [
        "shrek: new tag sP22aa-mdc2.7 (template hfprod)",
        "shrek: initialise production registry",
    ]
    tracked = git(root, "ls-files", "tags/sP22aa-mdc2.7").splitlines()
    assert "tags/sP22aa-mdc2.7/job/hfprod-pass1.yaml" in tracked
    assert "tags/sP22aa-mdc2.7/bin/run_hfprod.sh" in tracked


def test_outside_a_registry_says_so_in_one_line(tmp_path: Path, shrek) -> None:
    result = shrek("validate", cwd=tmp_path)
    assert result.code == ExitCode.NO_REGISTRY
    assert result.err.splitlines()[0].startswith("shrek: not inside a SHREK registry")
    assert "shrek init" in result.err


def test_registry_is_found_upwards_or_given(registry: Registry, shrek, tmp_path: Path) -> None:
    deep = registry.root / "tags" / "a" / "b"
    deep.mkdir(parents=True)
    assert shrek("tag", "list", cwd=deep).code == 0
    assert shrek("--registry", str(registry.root), "tag", "list", cwd=tmp_path).code == 0
    assert shrek("--registry", str(tmp_path), "tag", "list").code == ExitCode.NO_REGISTRY


def test_init_refuses_an_existing_registry(registry: Registry, shrek) -> None:
    result = shrek("init", str(registry.root))
    assert result.code == ExitCode.CONFLICT
    assert "already a SHREK registry" in result.err


def test_init_refuses_a_directory_inside_a_registry(registry: Registry, shrek) -> None:
    """It was accepted and committed into the outer registry, whose validate then failed
    (issue 29)."""
    head = git(registry.root, "rev-parse", "HEAD")
    result = shrek("init", str(registry.root / "tags" / "sub"), cwd=registry.root)
    assert result.code == ExitCode.CONFLICT, result.err
    assert f"is inside the registry {registry.root}" in result.err and "fix:" in result.err
    assert not (registry.root / "tags" / "sub").exists()
    assert git(registry.root, "rev-parse", "HEAD") == head
    assert shrek("validate", cwd=registry.root).code == 0


def test_init_in_an_existing_repository_commits_only_its_own_files(tmp_path: Path, shrek):
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "notes.txt").write_text("work in progress\n")
    git(repo, "add", "notes.txt")
    assert shrek("init", str(repo / "registry")).code == 0
    assert "notes.txt" not in git(repo, "show", "--name-only", "--format=", "HEAD")
    assert git(repo, "status", "--porcelain") == "A  notes.txt"


def test_allocation_continues_and_never_reuses(registry: Registry, shrek) -> None:
    root = registry.root
    args = ("tag", "new", "--year", "22", "--build", "mdc2.7")
    assert "tags/sP22a-mdc2.7" in shrek(*args, cwd=root).out
    assert "tags/sP22b-mdc2.7" in shrek(*args, cwd=root).out
    # Delete the newest tag and commit the deletion: its label stays taken.
    shutil.rmtree(root / "tags" / "sP22b-mdc2.7")
    git(root, "commit", "-qam", "drop sP22b")
    assert "tags/sP22c-mdc2.7" in shrek(*args, cwd=root).out
    refused = shrek("tag", "new", "sP22b", "--build", "mdc2.7", cwd=root)
    assert refused.code == ExitCode.CONFLICT
    assert "label sP22b was already allocated to sP22b-mdc2.7" in refused.err
    assert "never reused" in refused.err


def test_allocation_after_z_is_aa_and_gaps_are_not_filled(registry: Registry) -> None:
    new_tag(registry, TagRequest(label="sP22z", skip_to=True, build="mdc2.7"))
    assert new_tag(registry, TagRequest(year=22, build="mdc2.7")).name == "sP22aa-mdc2.7"
    assert new_tag(registry, TagRequest(year=22, build="mdc2.7")).name == "sP22ab-mdc2.7"


def test_test_labels_never_take_production_names(registry: Registry, shrek) -> None:
    result = shrek("tag", "new", "--test", "--year", "22", "--build", "mdc2.7", cwd=registry.root)
    assert "tags/sP22Ta-mdc2.7" in result.out
    assert new_tag(registry, TagRequest(year=22, build="mdc2.7")).name == "sP22a-mdc2.7"
    refused = shrek("tag", "new", "sP22b", "--test", "--build", "mdc2.7", cwd=registry.root)
    assert refused.code == ExitCode.USAGE and "not a test label" in refused.err


def test_resolution_by_label_full_name_and_path(registry: Registry, shrek) -> None:
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="mdc2.7", template="hfprod"))
    for name in ("sP22aa", "sP22aa-mdc2.7", "tags/sP22aa-mdc2.7/"):
        assert registry.resolve(name) == "sP22aa-mdc2.7"
        result = shrek("tag", "show", name, cwd=registry.root)
        assert result.code == 0 and result.out.startswith("sP22aa-mdc2.7  [draft]")
    unknown = shrek("tag", "show", "sP22ab", cwd=registry.root)
    assert unknown.code == ExitCode.NOT_FOUND
    assert "no tag 'sP22ab'" in unknown.err and "did you mean sP22aa" in unknown.err


def test_ambiguous_label_lists_the_candidates(registry: Registry, shrek) -> None:
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="mdc2.7"))
    shutil.copytree(registry.tag_dir("sP22aa-mdc2.7"), registry.tag_dir("sP22aa-mdc2.8"))
    result = shrek("tag", "show", "sP22aa", cwd=registry.root)
    assert result.code == ExitCode.NOT_FOUND
    assert "'sP22aa' is ambiguous: it matches sP22aa-mdc2.7, sP22aa-mdc2.8" in result.err


def test_from_copies_steps_and_records_the_parent(registry: Registry, shrek) -> None:
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="mdc2.7", template="hfprod"))
    parent_dir = registry.tag_dir("sP22aa-mdc2.7")
    (parent_dir / "freeze.yaml").write_text("digest: x\n")  # a parent's freeze is not inherited
    (parent_dir / "submissions").mkdir()
    (parent_dir / "submissions" / "x.yaml").write_text("x: 1\n")
    result = shrek(
        "tag", "new", "--year", "22", "--from", "sP22aa", "--title", "more charm", cwd=registry.root
    )
    assert result.code == 0, result.err
    child = registry.tag_dir("sP22ab-mdc2.7")
    assert sorted(p.name for p in (child / "job").iterdir()) == [
        "hfprod-pass1.yaml",
        "hfprod-pass2.yaml",
    ]
    assert (child / "bin" / "run_hfprod.sh").read_bytes() == (
        parent_dir / "bin" / "run_hfprod.sh"
    ).read_bytes()
    assert os.access(child / "bin" / "run_hfprod.sh", os.X_OK)
    assert not (child / "freeze.yaml").exists() and not (child / "submissions").exists()
    shown = json.loads(shrek("tag", "show", "sP22ab", "--json", cwd=registry.root).out)
    assert shown["parent"] == "sP22aa-mdc2.7" and shown["title"] == "more charm"
    assert shown["build"] == "mdc2.7" and len(shown["step_details"]) == 2


def test_refusals_leave_nothing_behind(registry: Registry, shrek) -> None:
    before = git(registry.root, "rev-parse", "HEAD")
    cases = [
        (
            ("tag", "new", "--skip-to", "sP22aa", "--build", "mdc9"),
            ExitCode.USAGE,
            "unknown build 'mdc9'",
        ),
        (("tag", "new", "sp22aa", "--build", "mdc2.7"), ExitCode.USAGE, "is not a label"),
        (
            ("tag", "new", "--skip-to", "sP22aa", "--build", "mdc2.7", "--template", "nope"),
            ExitCode.NOT_FOUND,
            "no template 'nope'",
        ),
        (("tag", "new", "--from", "sP22q", "--year", "22"), ExitCode.NOT_FOUND, "no tag"),
        (
            ("tag", "new", "--year", "123", "--build", "mdc2.7"),
            ExitCode.USAGE,
            "not a two-digit year",
        ),
    ]
    for args, code, message in cases:
        result = shrek(*args, cwd=registry.root)
        assert result.code == code, (args, result.err)
        assert message in result.err, (args, result.err)
    assert git(registry.root, "rev-parse", "HEAD") == before
    assert git(registry.root, "status", "--porcelain") == ""


def test_without_git_identity_nothing_is_written(registry: Registry, shrek, monkeypatch):
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("EMAIL", "")
    git(registry.root, "config", "user.useConfigOnly", "true")
    result = shrek("tag", "new", "--skip-to", "sP22aa", "--build", "mdc2.7", cwd=registry.root)
    assert result.code == ExitCode.GIT
    assert "git does not know who you are" in result.err and "git config" in result.err
    assert git(registry.root, "status", "--porcelain") == ""


def test_a_failed_commit_rolls_the_tag_back(registry: Registry, shrek) -> None:
    hook = registry.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'policy: no commits today' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = shrek("tag", "new", "--skip-to", "sP22aa", "--build", "mdc2.7", cwd=registry.root)
    assert result.code == ExitCode.GIT
    assert "policy: no commits today" in result.err
    assert not registry.tag_dir("sP22aa-mdc2.7").exists()
    assert git(registry.root, "status", "--porcelain") == ""


def test_parallel_branches_merge_their_ledger_lines_and_a_double_is_named(
    registry: Registry,
) -> None:
    """Without a remote (nothing decides between two branches), the ledgers merge line by line
    (.gitattributes: merge=union) and the label issued twice is named, with the repair."""
    root = registry.root
    git(root, "checkout", "-qb", "alice")
    new_tag(registry, TagRequest(year=22, build="mdc2.7", owner="alice"))
    git(root, "checkout", "-q", "main")
    git(root, "checkout", "-qb", "bob")
    new_tag(registry, TagRequest(year=22, build="mdc2.8", owner="bob"))
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "alice")
    merge = subprocess.run(["git", "merge", "bob"], cwd=root, capture_output=True, text=True)
    assert merge.returncode == 0, merge.stdout  # both lines kept, never one side dropped
    ledger = (root / "labels.ledger").read_text()
    assert "sP22a-mdc2.7" in ledger and "sP22a-mdc2.8" in ledger
    findings = validate(Registry.open(root)).findings
    assert any("allocated twice" in f.message and "shrek void" in f.fix for f in findings)


def test_concurrent_tag_new_serialise(registry: Registry) -> None:
    command = [
        sys.executable,
        "-c",
        "from shrek.cli.main import main; main()",
        "tag",
        "new",
        "--year",
        "22",
        "--build",
        "mdc2.7",
    ]
    processes = [
        subprocess.Popen(
            command, cwd=registry.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    assert sorted(registry.tag_names()) == ["sP22a-mdc2.7", "sP22b-mdc2.7", "sP22c-mdc2.7"]
    assert git(registry.root, "status", "--porcelain") == ""


def test_tag_list_table_and_json(registry: Registry, shrek) -> None:
    assert "no tags yet" in shrek("tag", "list", cwd=registry.root).out
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="mdc2.7", template="hfprod"))
    new_tag(registry, TagRequest(label="sP22b", build="mdc2.8"))
    table = shrek("tag", "list", cwd=registry.root).out.splitlines()
    assert table[0].split()[:4] == ["label", "build", "steps", "state"]
    assert table[1].split()[:4] == ["sP22b", "mdc2.8", "0", "draft"]
    assert table[2].split()[:4] == ["sP22aa", "mdc2.7", "2", "draft"]
    rows = json.loads(shrek("tag", "list", "--json", cwd=registry.root).out)
    assert [r["name"] for r in rows] == ["sP22b-mdc2.8", "sP22aa-mdc2.7"]


def test_validate_json_and_exit_code(registry: Registry, shrek) -> None:
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="mdc2.7", template="hfprod"))
    step = registry.tag_dir("sP22aa-mdc2.7") / "job" / "hfprod-pass1.yaml"
    step.write_text(step.read_text().replace("jobs: 10", "jobs: ten"))
    result = shrek("validate", "--json", cwd=registry.root)
    assert result.code == ExitCode.INVALID
    report = json.loads(result.out)
    assert report["ok"] is False and report["checked"] == ["sP22aa-mdc2.7"]
    assert report["findings"] == [
        {
            "file": "tags/sP22aa-mdc2.7/job/hfprod-pass1.yaml",
            "line": 11,
            "column": 7,
            "message": "jobs must be an integer, not a string ('ten')",
            "fix": "give an integer",
        }
    ]
    human = shrek("validate", "sP22aa", cwd=registry.root)
    assert human.code == ExitCode.INVALID
    assert human.err.splitlines()[0] == (
        "tags/sP22aa-mdc2.7/job/hfprod-pass1.yaml:11:7: error: jobs must be an integer, "
        "not a string ('ten')"
    )


def test_invalid_registry_settings_are_findings(registry: Registry, shrek) -> None:
    settings = registry.root / "shrek.yaml"
    settings.write_text(settings.read_text().replace("label_prefix: sP", "label_prefix: s-P"))
    result = shrek("validate", cwd=registry.root)
    assert result.code == ExitCode.INVALID
    assert result.err.startswith("shrek.yaml:6:15: error: invalid value 's-P' for label_prefix")
    assert "shrek: shrek.yaml is invalid" in result.err


@pytest.mark.parametrize("args", [("tag",), ("tag", "new", "--nope"), ("frobnicate",)])
def test_usage_errors_are_not_tracebacks(registry: Registry, shrek, args) -> None:
    result = shrek(*args, cwd=registry.root)
    assert result.code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("args", "said", "fix"),
    [
        (("submit", "x", "--jbos", "3"), "No such option: --jbos", "shrek submit --help"),
        (("submit",), "Missing argument", "shrek submit --help"),
        (("tag", "nwe"), "No such command 'nwe'. Did you mean 'new'?", "shrek tag --help"),
        (("submit", "x", "--jobs", "many"), "Invalid value for '--jobs'", "shrek submit --help"),
    ],
)
def test_usage_errors_speak_as_every_other_error(
    registry: Registry, shrek, args, said: str, fix: str
) -> None:
    result = shrek(*args, cwd=registry.root)
    assert result.code == ExitCode.USAGE
    first, second = result.err.splitlines()[:2]
    assert first.startswith("shrek: ") and said in first
    assert second.startswith("    fix: see '") and fix in second
    assert "╭" not in result.err and "Usage:" not in result.err  # not typer's boxed style


def test_tag_new_takes_the_default_build_and_lists_the_builds_without_one(
    registry: Registry, shrek
) -> None:
    settings = registry.root / "shrek.yaml"
    assert "default_build: mdc2.7" in settings.read_text()  # written by init
    made = shrek("tag", "new", "--skip-to", "sP22aa", cwd=registry.root)  # the mission's own words
    assert made.code == 0 and "sP22aa-mdc2.7" in made.out
    settings.write_text(settings.read_text().replace("default_build: mdc2.7\n", ""))
    git(registry.root, "commit", "-qam", "no default build")
    refused = shrek("tag", "new", "sP22ab", cwd=registry.root)
    assert refused.code == ExitCode.USAGE
    assert "no build given, and shrek.yaml names no default_build" in refused.err
    assert "(this registry knows: mdc2.7, mdc2.8, new, local)" in refused.err


def test_a_claimed_label_that_skips_unused_ones_needs_skip_to(registry: Registry, shrek) -> None:
    new_tag(registry, TagRequest(year=22, build="mdc2.7"))  # sP22a
    refused = shrek("tag", "new", "sP22zz", "--build", "mdc2.7", cwd=registry.root)
    assert refused.code == ExitCode.USAGE
    assert "claiming sP22zz would skip 700 unused label(s) of year 22 (sP22b to sP22zy)" in (
        refused.err
    )
    assert "the next free label, sP22b" in refused.err and "--skip-to sP22zz" in refused.err
    assert "sP22zz" not in (registry.root / "labels.ledger").read_text()  # nothing taken
    adjacent = shrek("tag", "new", "sP22b", "--build", "mdc2.7", cwd=registry.root)
    assert adjacent.code == 0, adjacent.err  # the next free one skips nothing: no word needed
    claimed = shrek("tag", "new", "--skip-to", "sP22zz", "--build", "mdc2.7", cwd=registry.root)
    assert claimed.code == 0, claimed.err
    # 'next free' continues after the highest: none is left, and the advice fits what a
    # label means (its year): claim one of the skipped labels by name, not another year
    full = shrek("tag", "new", "--year", "22", "--build", "mdc2.7", cwd=registry.root)
    assert full.code == ExitCode.CONFLICT
    assert "699 label(s) of year 22 were skipped and never allocated" in full.err
    assert "shrek tag new sP22c" in full.err and "--year" not in full.err
    gap = shrek("tag", "new", "sP22c", "--build", "mdc2.7", cwd=registry.root)
    assert gap.code == 0, gap.err  # a skipped label is claimed by name, skipping nothing


def test_a_year_whose_every_label_is_allocated_says_so() -> None:
    from shrek.core.labels import MAX_SEQUENCE, Label, next_label, sequence_letters
    from shrek.errors import ShrekError

    every = [Label("sP", 22, sequence_letters(i)) for i in range(1, MAX_SEQUENCE + 1)]
    with pytest.raises(ShrekError) as refused:
        next_label(every, "sP", 22)
    assert "all 702 labels of year 22 are allocated" in refused.value.message
    assert "another year's would misname it" in refused.value.fix


def test_init_and_tag_new_point_at_what_exists(tmp_path: Path, shrek) -> None:
    made = shrek("init", str(tmp_path / "fresh"))
    assert made.code == 0, made.err
    assert "--template demo" in made.out and "runs on this machine" in made.out
    settings = (tmp_path / "fresh" / "shrek.yaml").read_text()
    assert "# panda:\n#   url_ssl:" in settings and "# rucio:\n#   host:" in settings
    assert "#   site: BNL_OSG_SPHENIX" in settings
    root = tmp_path / "fresh"
    assert shrek("validate", cwd=root).code == 0  # the commented sections are only comments
    uncommented = settings.replace("\n# panda:", "\npanda:").replace("\n# rucio:", "\nrucio:")
    uncommented = uncommented.replace("\n#   ", "\n  ")
    assert "panda:\n  url_ssl:" in uncommented and "\nrucio:\n  host:" in uncommented
    (root / "shrek.yaml").write_text(uncommented)  # what a user gets by uncommenting: valid
    assert shrek("validate", cwd=root).code == 0
    git(root, "checkout", "--", "shrek.yaml")
    bare = shrek("tag", "new", "--year", "22", cwd=root)
    assert bare.code == 0, bare.err
    assert "write the steps as tags/sP22a-mdc2.7/job/<step>.yaml" in bare.out
    assert "--template demo" in bare.out
    demo = shrek("tag", "new", "--year", "22", "-b", "local", "-t", "demo", cwd=root)
    assert "edit tags/sP22b-local/job/ (demo-pass1.yaml, demo-pass2.yaml)" in demo.out
    shown = " ".join(shrek("tag", "new", "--help").out.replace("│", " ").split())
    assert "demo (two steps that run on any machine" in shown


def test_completion_of_builds_templates_and_datasets(registry: Registry, tmp_path: Path) -> None:
    from shrek.catalogs.factory import open_catalog
    from shrek.ops.completion import builds, datasets, templates
    from shrek.ops.dataset import add_files

    assert builds(registry.root, "mdc") == ["mdc2.7", "mdc2.8"]
    assert templates("") == ["demo", "hfprod"]
    sample = tmp_path / "a.txt"
    sample.write_text("a\n")
    add_files(open_catalog(registry), "demo.minbias.background", [sample])
    assert datasets(registry.root, "demo.") == ["demo.minbias.background"]
    assert datasets(registry.root, "nope") == []
