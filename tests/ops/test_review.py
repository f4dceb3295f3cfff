"""Reviewing productions: READMEs, diffs, graphs, the PR review, CI files, JSON, completion."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from shrek import __version__
from shrek.catalogs.factory import open_catalog
from shrek.core.registry import Registry
from shrek.core.schema import export, load_schema
from shrek.errors import ExitCode
from shrek.ops.completion import tags, targets
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.readme import render_readme
from shrek.ops.tag import TagRequest, new_tag
from tests.conftest import GOLDEN as GOLDEN_DIR
from tests.conftest import PROJECT, check_workflow, git
from tests.ops.conftest import DEMO_TAG

GOLDEN = GOLDEN_DIR / "review"
UPDATE = os.environ.get("SHREK_UPDATE_GOLDEN") == "1"


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs (SHREK_UPDATE_GOLDEN=1 to accept)"


# -- golden outputs on the example tags ---------------------------------------------------


@pytest.mark.parametrize("name", ["sP22aa-mdc2.7", "sP22ab-mdc2.7"])
def test_committed_readmes_are_current_and_deterministic(name: str) -> None:
    registry = Registry.open(PROJECT)
    text = render_readme(registry, name)
    assert text == render_readme(registry, name)
    assert text == (registry.tag_dir(name) / "README.md").read_text(), (
        "regenerate with: shrek render-readme"
    )
    assert "```mermaid\nflowchart LR" in text and "## Submissions" in text


def test_diff_against_parent_golden(shrek) -> None:
    result = shrek("diff", "sP22ab", cwd=PROJECT)
    assert result.code == 0
    golden("sP22ab.diff.txt", result.out)
    as_json = shrek("diff", "sP22aa", "sP22ab", "--json", cwd=PROJECT)
    golden("sP22ab.diff.json", as_json.out)
    data = json.loads(as_json.out)
    assert {
        "path": "steps.hfprod-pass1.parameters.type",
        "kind": "changed",
        "old": "Charm",
        "new": "Bottom",
    } in data["changes"]


def test_graph_golden(shrek) -> None:
    golden("sP22aa.mmd", shrek("graph", "sP22aa", cwd=PROJECT).out)
    golden("sP22aa.dot", shrek("graph", "sP22aa", "--format", "dot", cwd=PROJECT).out)


def test_graph_image_and_missing_graphviz(shrek, tmp_path: Path, monkeypatch) -> None:
    # Graphviz is optional (.ci/run installs it): with it the image is drawn, and on every
    # machine the missing-program path is checked with a PATH that has no dot.
    if shutil.which("dot"):
        result = shrek("graph", "sP22aa", "-o", str(tmp_path / "dag.svg"), cwd=PROJECT)
        assert result.code == 0, result.err
        assert "<svg" in (tmp_path / "dag.svg").read_text()
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on this PATH
    result = shrek("graph", "sP22aa", "-o", str(tmp_path / "dag.png"), cwd=PROJECT)
    assert result.code == ExitCode.TOOL_MISSING
    assert "Graphviz is not installed" in result.err and "--format dot" in result.err
    assert shrek("graph", "sP22aa", "-f", "png", cwd=PROJECT).code == ExitCode.USAGE


def test_diff_needs_a_parent(shrek) -> None:
    result = shrek("diff", "sP22aa", cwd=PROJECT)
    assert result.code == ExitCode.USAGE and "has no parent" in result.err


# -- the pull-request review ----------------------------------------------------------------


@pytest.fixture
def frozen_registry(registry: Registry, tmp_path: Path) -> Registry:
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local", template="demo"))
    background = tmp_path / "bkg.txt"
    background.write_text("minbias\n")
    add_files(open_catalog(registry), "demo.minbias.background", [background])
    freeze(registry, "sP22aa-local")
    git(registry.root, "branch", "base")
    git(registry.root, "checkout", "-qb", "feature")
    return registry


def test_review_of_a_good_pull_request(frozen_registry: Registry, shrek, tmp_path) -> None:
    registry = frozen_registry
    assert shrek("tag", "new", "--year", "22", "--from", "sP22aa", cwd=registry.root).code == 0
    step = registry.tag_dir("sP22ab-local") / "job" / "demo-pass1.yaml"
    step.write_text(step.read_text().replace("nevents: 50", "nevents: 500"))
    git(registry.root, "commit", "-qam", "more events")
    summary = tmp_path / "summary.md"
    result = shrek("review", "--base", "base", "--summary", str(summary), cwd=registry.root)
    assert result.code == 0, result.err
    text = summary.read_text()
    assert "### sP22ab-local compared with sP22aa-local" in text
    assert "| `steps.demo-pass1.parameters.nevents` | changed | `50` | `500` |" in text


def test_review_refuses_an_edited_frozen_tag(frozen_registry: Registry, shrek) -> None:
    registry = frozen_registry
    tag_dir = registry.tag_dir("sP22aa-local")
    step = tag_dir / "job" / "demo-pass1.yaml"
    step.write_text(step.read_text().replace("nevents: 50", "nevents: 5"))
    (tag_dir / "freeze.yaml").unlink()  # even with the freeze removed to hide it
    git(registry.root, "commit", "-qam", "sneaky edit")
    result = shrek("review", "--base", "base", cwd=registry.root)
    assert result.code == ExitCode.INVALID
    assert (
        "tags/sP22aa-local/job/demo-pass1.yaml: error: tag sP22aa-local was frozen on "
        "base, and this pull request changes it"
    ) in result.err
    assert "tags/sP22aa-local/freeze.yaml: error:" in result.err
    assert "shrek tag new --from sP22aa" in result.err
    assert "**Edited after its freeze on `base`** (`freeze.yaml`, `job/demo-pass1.yaml`)" in (
        result.out
    )
    assert "New tag without a parent" not in result.out


def test_review_refuses_a_rewritten_ledger(frozen_registry: Registry, shrek) -> None:
    registry = frozen_registry
    ledger = registry.root / "labels.ledger"
    ledger.write_text(ledger.read_text().replace("sP22aa  sP22aa-local", "sP22aa  other"))
    git(registry.root, "commit", "-qam", "rewrite history")
    result = shrek("review", "--base", "base", cwd=registry.root)
    assert result.code == ExitCode.INVALID
    assert "labels.ledger:6:1: error: the label line 'sP22aa sP22aa-local" in result.err
    assert "was deleted or edited: labels.ledger is append-only" in result.err


def test_review_allows_records_of_a_frozen_tag(frozen_registry: Registry, shrek) -> None:
    registry = frozen_registry
    git(registry.root, "checkout", "-q", "main")  # production submissions are made on main
    assert shrek("submit", "sP22aa/demo-pass1", cwd=registry.root).code == 0
    result = shrek("review", "--base", "base", cwd=registry.root)
    assert result.code == 0, result.err


def test_review_shows_the_change_of_an_edited_tag_itself(
    frozen_registry: Registry, shrek, tmp_path: Path
) -> None:
    registry = frozen_registry
    made = shrek("tag", "new", "--year", "22", "-b", "local", "-t", "demo", cwd=registry.root)
    assert made.code == 0, made.err
    git(registry.root, "branch", "-f", "base")  # the new tag is on the base, not frozen
    step = registry.tag_dir("sP22ab-local") / "job" / "demo-pass1.yaml"
    step.write_text(step.read_text().replace("jobs: 4", "jobs: 20"))
    assert shrek("render-readme", "--commit", "sP22ab", cwd=registry.root).code == 0
    git(registry.root, "commit", "-qam", "twice the jobs")
    result = shrek("review", "--base", "base", cwd=registry.root)
    assert result.code == 0, result.err
    assert "### sP22ab-local: the change, compared with sP22ab-local on `base`" in result.out
    assert "| `steps.demo-pass1.jobs` | changed | `4` | `20` |" in result.out
    assert "see tags/sP22ab-local/README.md" not in result.out


def test_review_of_an_unknown_base_says_so(frozen_registry: Registry, shrek) -> None:
    result = shrek("review", "--base", "nosuchref", cwd=frozen_registry.root)
    assert result.code == ExitCode.NOT_FOUND
    assert "--base nosuchref names no commit" in result.err and "git fetch" in result.err
    assert "fatal:" not in result.err and "stderr:" not in result.err


def test_diff_of_an_invalid_tag_shows_the_changes_then_the_problems(
    frozen_registry: Registry, shrek
) -> None:
    registry = frozen_registry
    assert shrek("tag", "new", "--year", "22", "--from", "sP22aa", cwd=registry.root).code == 0
    step = registry.tag_dir("sP22ab-local") / "job" / "demo-pass1.yaml"
    step.write_text(step.read_text().replace("nevents: 50", "nevents: 500"))
    pass2 = registry.tag_dir("sP22ab-local") / "job" / "demo-pass2.yaml"
    pass2.write_text(
        pass2.read_text().replace("jobs:", "jobs: 3\nbogus_key: 1\n#", 1)
        if "jobs:" in pass2.read_text()
        else pass2.read_text() + "bogus_key: 1\n"
    )
    result = shrek("diff", "sP22ab", cwd=registry.root)
    assert result.code == ExitCode.INVALID
    assert "~ steps.demo-pass1.parameters.nevents: 50 -> 500" in result.out
    assert "compared as far as the tags load" in result.err
    assert "tags/sP22ab-local/job/demo-pass2.yaml" in result.err and "bogus_key" in result.err


# -- what shrek init writes for a registry -----------------------------------------------------


def test_init_writes_the_ci_workflow_the_readme_documents(registry: Registry) -> None:
    workflow = yaml.safe_load((registry.root / ".github" / "workflows" / "shrek.yml").read_text())
    assert set(workflow[True if True in workflow else "on"]) == {"pull_request", "push"}
    runs = [s["run"] for s in workflow["jobs"]["check"]["steps"] if "run" in s]
    shrek_runs = [r for r in runs if r.startswith("shrek ")]
    assert [r.split()[1] for r in shrek_runs] == ["validate", "render-readme", "verify", "review"]
    readme = (PROJECT / "docs" / "review.md").read_text()
    for command in runs:
        assert command in readme, f"docs/review.md does not document the CI step: {command}"
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert hooks[0]["id"] == "shrek-validate" and hooks[0]["entry"] == "shrek validate"
    assert "shrek-validate" in readme


def test_init_workflow_publishes_the_web_catalogue_of_main(registry: Registry) -> None:
    """Issue 31: on a push to main, after the check, the site is built with the same SHREK,
    kept as an artifact and published to Pages where Pages is enabled (never failing the run
    where it is not); only that job may write Pages."""
    workflow = yaml.safe_load((registry.root / ".github" / "workflows" / "shrek.yml").read_text())
    site = workflow["jobs"]["site"]
    assert site["if"] == "github.event_name == 'push'" and site["needs"] == "check"
    assert site["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    steps = site["steps"]
    assert steps[2] == workflow["jobs"]["check"]["steps"][2]  # the same install step
    assert {"name": "Build the web catalogue", "run": "shrek site -o _site"} in steps
    uses = {s.get("uses", "").split("@")[0]: s for s in steps}
    assert uses["actions/upload-pages-artifact"]["with"] == {"path": "_site"}
    assert uses["actions/deploy-pages"]["continue-on-error"] is True
    assert "shrek site -o _site" in (PROJECT / "docs" / "review.md").read_text()


def test_init_workflow_is_valid_least_privilege_and_installs_the_recorded_version(
    registry: Registry, tmp_path: Path
) -> None:
    path = registry.root / ".github" / "workflows" / "shrek.yml"
    check_workflow(path)
    workflow = yaml.safe_load(path.read_text())
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert 0 < workflow["jobs"]["check"]["timeout-minutes"] <= 60
    settings = yaml.safe_load((registry.root / "shrek.yaml").read_text())
    assert settings["shrek_version"] == __version__
    assert workflow[True if True in workflow else "on"]["push"]["branches"] == [
        settings["production_branch"]
    ]
    (install,) = [
        s["run"] for s in workflow["jobs"]["check"]["steps"] if "pip install" in s.get("run", "")
    ]
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pip").write_text('#!/bin/sh\necho "pip $*" > "$PIP_LOG"\n')
    (fake / "pip").chmod(0o755)
    env = {"PATH": f"{fake}:/usr/bin:/bin", "PIP_LOG": str(tmp_path / "pip.log"), "SHREK_PIP": ""}

    def install_step(cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", install], cwd=cwd, env=env, capture_output=True, text=True
        )

    # the tests' SHREK is an editable install: nothing CI could install, so the check refuses
    assert settings["shrek_install"] == ""
    refused = install_step(registry.root)
    assert refused.returncode == 1 and "shrek_install is empty" in refused.stdout
    settings_file = registry.root / "shrek.yaml"
    wanted = "sphenix-shrek @ git+https://github.com/BNLNPPS/shrek@0123abc"
    settings_file.write_text(
        settings_file.read_text().replace('shrek_install: ""', f'shrek_install: "{wanted}"')
    )
    assert install_step(registry.root).returncode == 0
    assert (tmp_path / "pip.log").read_text() == f"pip install {wanted}\n"
    older = tmp_path / "older"  # a registry made before shrek_install: its shrek_version
    older.mkdir()
    (older / "shrek.yaml").write_text('schema_version: 1\nshrek_version: "0.1.0"\n')
    assert install_step(older).returncode == 0
    assert (tmp_path / "pip.log").read_text() == "pip install sphenix-shrek==0.1.0\n"
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "shrek.yaml").write_text("schema_version: 1\n")
    refused = install_step(bare)
    assert refused.returncode == 1 and "names no shrek_install" in refused.stdout


def test_files_name_their_schema_for_editors(registry: Registry) -> None:
    created = new_tag(
        registry, TagRequest(label="sP22aa", skip_to=True, build="local", template="demo")
    )
    files = [
        registry.root / "shrek.yaml",
        created.directory / "tag.yaml",
        *(created.directory / "job").glob("*.yaml"),
    ]
    for path in files:
        first = path.read_text().splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, path
        assert (path.parent / match.group(1)).resolve().is_file(), (path, match.group(1))


def test_schema_export(tmp_path: Path, shrek) -> None:
    result = shrek("schema", "export", str(tmp_path / "out"))
    assert result.code == 0
    names = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.json")
    )
    assert "step.schema.json" in names and "output/validate.schema.json" in names
    assert names == sorted(
        p.relative_to(tmp_path / "again").as_posix() for p in export(tmp_path / "again")
    )


# -- machine-readable everywhere, completion ------------------------------------------------


def test_every_json_output_matches_its_schema(frozen_registry: Registry, shrek) -> None:
    registry = frozen_registry
    git(registry.root, "checkout", "-q", "main")  # production submissions are made on main
    assert shrek("submit", "sP22aa/demo-pass1", cwd=registry.root).code == 0
    new_tag(registry, TagRequest(label="sP22ab", build="local", parent="sP22aa"))
    outputs = {
        "tag-list": ("tag", "list", "--json"),
        "tag-show": ("tag", "show", "sP22aa", "--json"),
        "validate": ("validate", "--json"),
        "verify": ("verify", "--json"),
        "status": ("status", "--json"),
        "log": ("log", "sP22aa", "--json"),
        "diff": ("diff", "sP22ab", "--json"),
        "dataset-list": ("dataset", "list", "--json"),
        "site": ("site", "-o", str(registry.root.parent / "site"), "--json"),
    }
    for kind, args in outputs.items():
        result = shrek(*args, cwd=registry.root)
        data = json.loads(result.out)
        errors = list(Draft202012Validator(load_schema(f"output/{kind}")).iter_errors(data))
        assert not errors, (kind, [e.message for e in errors])
        assert data, kind


def test_completion_of_labels_and_steps(registry: Registry, monkeypatch) -> None:
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local", template="demo"))
    new_tag(registry, TagRequest(label="sP22ab", build="mdc2.7"))
    assert tags(registry.root, "sP22a") == ["sP22aa", "sP22ab", "sP22aa-local", "sP22ab-mdc2.7"]
    assert targets(registry.root, "sP22aa/demo") == ["sP22aa/demo-pass1", "sP22aa/demo-pass2"]
    assert targets(registry.root, "nope/") == []
    monkeypatch.chdir(registry.root.parent)  # outside any registry: nothing, no error
    assert tags(None, "") == []


def test_graph_into_a_missing_directory(shrek, tmp_path: Path) -> None:
    result = shrek("graph", "sP22aa", "-o", str(tmp_path / "no" / "dag.svg"), cwd=PROJECT)
    assert result.code == ExitCode.FILESYSTEM and "does not exist" in result.err


def test_render_readme_check_fails_on_a_stale_readme(demo: Registry, shrek) -> None:
    """A step edited on a branch: the README still said the old job count, and nothing in CI
    noticed (issue 29, point 7)."""
    assert shrek("render-readme", "--check", cwd=demo.root).code == 0
    git(demo.root, "checkout", "-q", "-b", "more-jobs")
    (demo.tag_dir(DEMO_TAG) / "freeze.yaml").unlink()
    step = demo.tag_dir(DEMO_TAG) / "job" / "demo-pass1.yaml"
    step.write_text(step.read_text().replace("jobs: 4", "jobs: 8"))
    git(demo.root, "commit", "-qam", "more jobs")
    readme = demo.tag_dir(DEMO_TAG) / "README.md"
    before = readme.read_text()
    stale = shrek("render-readme", "--check", cwd=demo.root)
    assert stale.code == ExitCode.INVALID, stale.err
    assert f"tags/{DEMO_TAG}/README.md" in stale.err and "render-readme --commit" in stale.err
    assert readme.read_text() == before  # --check writes nothing
    assert shrek("render-readme", "--commit", cwd=demo.root).code == 0
    assert shrek("render-readme", "--check", cwd=demo.root).code == 0


def test_graph_draws_a_tag_whose_steps_form_a_cycle(demo: Registry, shrek) -> None:
    """graph refused an invalid tag, so a cycle could not be seen (issue 29, point 9)."""
    step = demo.tag_dir(DEMO_TAG) / "job" / "demo-pass1.yaml"
    step.write_text(
        step.read_text().replace(
            "jobs: 4\n", "inputs:\n  - dataset: demo-pass2.merged\n    files_per_job: 1\n"
        )
    )
    drawn = shrek("graph", "sP22aa", cwd=demo.root)
    assert drawn.code == ExitCode.INVALID, drawn.err
    assert "%% the steps form a cycle: demo-pass1 -> demo-pass2 -> demo-pass1" in drawn.out
    assert drawn.out.count("linkStyle") == 2  # both edges of the cycle, in red
    assert "is invalid; it is drawn as far as it loads (the cycle in red)" in drawn.err
    assert "cycle" in drawn.err and "Traceback" not in drawn.err
    as_dot = shrek("graph", "sP22aa", "--format", "dot", cwd=demo.root)
    assert as_dot.out.count('xlabel="cycle"') == 2


def test_every_writing_command_answers_json_that_matches_its_schema(
    frozen_registry: Registry, shrek, tmp_path: Path
) -> None:
    registry = frozen_registry
    git(registry.root, "checkout", "-q", "main")  # production submissions are made on main
    extra = tmp_path / "extra.txt"
    extra.write_text("more minbias\n")
    made = new_tag(registry, TagRequest(year=22, build="local", parent="sP22aa"))
    slow = made.directory / "job" / "demo-pass1.yaml"
    slow.write_text(slow.read_text().replace("exec: python3", "exec: sleep 30; python3"))
    git(registry.root, "commit", "-qam", "a slow copy")
    data = Path(__file__).parent / "data" / "shrek2022" / "chain5"
    commands = [
        ("dataset-add", ("dataset", "add", "demo.extra", str(extra), "--json")),
        ("tag-new", ("tag", "new", "--year", "22", "-b", "local", "--json")),
        ("submit", ("submit", "sP22aa/demo-pass1", "--json")),
        ("freeze", ("freeze", "sP22ab", "--json")),
        ("submit", ("submit", "sP22ab/demo-pass1", "--detach", "--json")),
        ("control", ("kill", "sP22ab", "--json")),
        ("control", ("retry", "sP22ab/demo-pass1", "--json")),
        ("control", ("kill", "sP22ab", "--json")),
        ("invalidate", ("invalidate", "sP22aa/demo-pass1", "--reason", "bad", "--json")),
        ("supersede", ("supersede", "sP22aa", "--by", "sP22ab", "--reason", "bad", "--json")),
        ("import", ("import", str(data), "--build", "mdc2.7", "--json")),
    ]
    for kind, args in commands:
        result = shrek(*args, cwd=registry.root)
        assert result.code in (0, ExitCode.INVALID), (args, result.err)
        document = json.loads(result.out)
        errors = list(Draft202012Validator(load_schema(f"output/{kind}")).iter_errors(document))
        assert not errors, (kind, [e.message for e in errors])
    assert document["tag"].endswith("-mdc2.7")  # the import's
