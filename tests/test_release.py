"""A release anyone can install: the release workflow is valid, publishes only the version the
code names, and the version, the tag name and the docs agree."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from shrek import __version__
from tests.conftest import PROJECT, check_workflow

RELEASE = PROJECT / ".github" / "workflows" / "release.yml"


def test_the_release_workflow_is_valid_and_publishes_by_trusted_publishing() -> None:
    check_workflow(RELEASE)
    workflow = yaml.safe_load(RELEASE.read_text())
    assert workflow[True] == {"push": {"tags": ["v*"]}}
    assert workflow["permissions"] == {"contents": "read"}
    publish = workflow["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}  # no stored token
    assert publish["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish@")
    built = [s.get("run", "") for s in workflow["jobs"]["build"]["steps"]]
    assert "bash scripts/check_dist.sh dist" in built  # the same check as make dist
    assert any("twine check --strict" in run for run in built)


def test_a_tag_that_does_not_name_the_codes_version_is_not_released(tmp_path: Path) -> None:
    steps = yaml.safe_load(RELEASE.read_text())["jobs"]["build"]["steps"]
    (guard,) = [
        s["run"] for s in steps if s.get("name") == "The tag names the version being released"
    ]

    def release(tag: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", guard],
            cwd=PROJECT,
            env={"PATH": "/usr/bin:/bin", "GITHUB_REF_NAME": tag},
            capture_output=True,
            text=True,
        )

    assert release(f"v{__version__}").returncode == 0
    refused = release("v99.0.0")
    assert refused.returncode == 1 and f"does not name version {__version__}" in refused.stdout


def test_the_version_the_tag_name_and_the_docs_agree() -> None:
    tag = f"v{__version__}"
    readme = (PROJECT / "README.md").read_text()
    assert f"shrek@{tag}" in readme and f"(`{tag}`)" in readme
    assert f"rev: {tag}" in (PROJECT / "docs" / "review.md").read_text()
    assert f"rev: {tag}" in (PROJECT / ".pre-commit-hooks.yaml").read_text()
    named = set(re.findall(r"\bv\d+\.\d+\.\d+\b", readme))
    assert named == {tag}, f"the README names other versions: {named - {tag}}"
    project = (PROJECT / "pyproject.toml").read_text()
    assert 'Homepage = "https://github.com/BNLNPPS/shrek"' in project
    assert "LICENSE" in readme and (PROJECT / "LICENSE").read_text().startswith("BSD 3-Clause")
