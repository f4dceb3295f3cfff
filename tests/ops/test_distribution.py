"""The workflow ``shrek init`` writes installs a SHREK that exists: exactly the one that made
the registry, as its installed distribution's PEP 610 metadata says.

The end-to-end test installs SHREK from a local git URL at a commit into an environment of its
own, runs its ``shrek init`` there, and then runs the workflow's install step with a real pip:
what CI installs is that very commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import yaml

from shrek import __version__
from shrek.ops.distribution import from_direct_url, requested
from tests.conftest import PROJECT, git

SOURCES = ("shrek", "schemas", "pyproject.toml", "README.md", "LICENSE")


def test_each_kind_of_origin_gives_its_requirement_or_says_why_not() -> None:
    vcs = {
        "url": "https://github.com/BNLNPPS/shrek",
        "vcs_info": {"vcs": "git", "commit_id": "a" * 40, "requested_revision": "main"},
    }
    assert from_direct_url(vcs, "0.1.0").requirement == (
        f"sphenix-shrek @ git+https://github.com/BNLNPPS/shrek@{'a' * 40}"
    )
    archive = {
        "url": "https://example.org/sphenix_shrek-0.1.0-py3-none-any.whl",
        "archive_info": {"hashes": {"sha256": "b" * 64}},
    }
    assert from_direct_url(archive, "0.1.0").requirement == (
        f"sphenix-shrek @ {archive['url']}#sha256={'b' * 64}"
    )
    for local in (
        {"url": "file:///home/me/shrek", "dir_info": {"editable": True}},
        {"url": "file:///home/me/shrek", "dir_info": {}},
        {"url": "file:///tmp/sphenix_shrek-0.1.0-py3-none-any.whl", "archive_info": {}},
    ):
        refused = from_direct_url(local, "0.1.0")
        assert refused.requirement == "" and "CI cannot install" in refused.why_not
        assert local["url"].removeprefix("file://") in refused.why_not


def _venv(path: Path) -> Path:
    """A fresh environment whose dependencies come from the tests' own (a .pth file), so that
    only SHREK itself is installed into it."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    # the pip a CI machine has (setup-python's is current; venv's bundled 23.2 refuses a
    # 'name @ git+file://...@commit' requirement)
    subprocess.run(
        [path / "bin" / "python", "-m", "pip", "install", "-q", "--upgrade", "pip"],
        check=True,
        capture_output=True,
    )
    purelib = Path(sysconfig.get_paths()["purelib"])
    (site,) = (path / "lib").glob("python3*/site-packages")
    (site / "tests-dependencies.pth").write_text(f"{purelib}\n")
    return path / "bin"


def _source_repository(root: Path) -> str:
    """This SHREK's sources (as they are now) committed in a git repository of their own."""
    for name in SOURCES:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    git(root.parent, "init", "-q", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "SHREK's sources")
    return git(root, "rev-parse", "HEAD")


def test_init_pins_the_git_commit_it_was_installed_from_and_ci_installs_it(
    tmp_path: Path,
) -> None:
    commit = _source_repository(tmp_path / "src")
    requirement = f"sphenix-shrek @ git+file://{tmp_path / 'src'}@{commit}"
    made_with = _venv(tmp_path / "made-with")
    pip = [str(made_with / "python"), "-m", "pip", "install", "-q", "--no-deps"]
    subprocess.run([*pip, requirement], check=True, capture_output=True)
    registry = tmp_path / "registry"
    git(tmp_path, "init", "-q", "-b", "master", str(registry))
    made = subprocess.run(
        [str(made_with / "shrek"), "init", str(registry)], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    assert f"its CI installs {requirement}" in made.stdout
    settings = yaml.safe_load((registry / "shrek.yaml").read_text())
    assert settings["shrek_install"] == requirement
    workflow = yaml.safe_load((registry / ".github" / "workflows" / "shrek.yml").read_text())
    assert workflow[True]["push"]["branches"] == ["master"]  # the production branch
    (install,) = [s["run"] for s in workflow["jobs"]["check"]["steps"] if "pip" in s.get("run", "")]
    ci = _venv(tmp_path / "ci")
    # this machine's pip settings (its package index) as CI has PyPI; the dependencies are
    # found installed already (the .pth file), so only SHREK itself is built and installed
    pip_settings = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    env = {**pip_settings, "PATH": f"{ci}:/usr/bin:/bin", "SHREK_PIP": "", "HOME": str(tmp_path)}
    ran = subprocess.run(
        ["bash", "-c", install], cwd=registry, env=env, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (record,) = (tmp_path / "ci" / "lib").glob("python3*/site-packages/sphenix_shrek-*.dist-info")
    origin = json.loads((record / "direct_url.json").read_text())
    assert origin["vcs_info"]["commit_id"] == commit
    assert origin["url"] == f"file://{tmp_path / 'src'}"
    version = subprocess.run([str(ci / "shrek"), "--version"], capture_output=True, text=True)
    assert version.stdout == f"shrek {__version__}\n"


def test_a_requirement_given_by_hand_is_checked_before_anything_is_written(
    tmp_path: Path,
) -> None:
    """init --shrek-install: a value shrek.yaml could not keep on one line between double
    quotes, or one that is not SHREK, is refused with the fix (exit 2), and nothing is made."""
    for wrong in ('bad"quote', "two\nlines", "", "numpy==1.0"):
        refused = subprocess.run(
            [sys.executable, "-m", "shrek", "init", str(tmp_path / "r"), "--shrek-install", wrong],
            capture_output=True,
            text=True,
        )
        assert refused.returncode == 2, (wrong, refused.stderr)
        assert "is not a pip requirement for SHREK" in refused.stderr
        assert "fix:" in refused.stderr and "Traceback" not in refused.stderr
        assert not (tmp_path / "r").exists()
    assert requested("sphenix-shrek==0.1.0").requirement == "sphenix-shrek==0.1.0"
    pinned = "sphenix-shrek @ git+https://github.com/BNLNPPS/shrek@" + "c" * 40
    assert requested(pinned).requirement == pinned
