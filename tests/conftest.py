"""Shared fixtures: real temporary git registries and an in-process CLI runner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from shrek.cli.main import run
from shrek.core.registry import Registry
from shrek.ops.init import init_registry
from shrek.ops.tag import TagRequest, new_tag

# The SHREK project (itself a registry with the example productions) and its golden files.
PROJECT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Manager",
    "GIT_AUTHOR_EMAIL": "manager@sphenix.invalid",
    "GIT_COMMITTER_NAME": "Test Manager",
    "GIT_COMMITTER_EMAIL": "manager@sphenix.invalid",
}


def _project_head() -> str | None:
    import subprocess

    done = subprocess.run(
        ["git", "-C", str(PROJECT), "rev-parse", "-q", "--verify", "HEAD"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() if done.returncode == 0 else None


@pytest.fixture(autouse=True, scope="session")
def project_untouched():
    """The suite never commits to the project's own registry (its example tags are real)."""
    before = _project_head()
    yield
    assert _project_head() == before, "a test committed to the SHREK project itself"


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No user or system git configuration leaks into a test; commits have a fixed identity.

    Every test starts in an empty directory: the project itself is a registry, and a CLI call
    that forgot its ``cwd=`` once committed imported tags into it.
    """
    home = tmp_path_factory.mktemp("home")
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.delenv("SHREK_REGISTRY", raising=False)
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    """A fresh registry made by ``shrek init`` in a temporary git repository."""
    return Registry.open(init_registry(tmp_path / "registry"))


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def shrek(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run the real CLI in-process: ``shrek("tag", "list", cwd=dir)`` -> Result."""

    def invoke(*args: str, cwd: Path | None = None) -> Result:
        capsys.readouterr()
        if cwd is not None:
            monkeypatch.chdir(cwd)
        code = run(list(args))
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err, captured.err
        return Result(code, captured.out, captured.err)

    return invoke


def git(cwd: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ},
    ).stdout.strip()


def step_yaml(**fields) -> str:
    return yaml.safe_dump(fields, sort_keys=False, allow_unicode=True)


@pytest.fixture
def runnable(registry: Registry) -> Registry:
    """A registry whose build sets up a harmless environment, with a tag to fill in."""
    settings = registry.root / "shrek.yaml"
    settings.write_text(
        settings.read_text().replace(
            '  local:\n    setup: ":"\n',
            "  local:\n    setup: export SHREK_TEST_SETUP=ready\n"
            "    environment: [SHREK_TEST_SETUP]\n",
            1,
        )
    )
    registry = Registry.open(registry.root)
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local"))
    (registry.tag_dir("sP22aa-local") / "job" / ".gitkeep").unlink()
    return registry


def write_step(registry: Registry, name: str, **fields) -> None:
    path = registry.tag_dir("sP22aa-local") / "job" / f"{name}.yaml"
    path.write_text(step_yaml(name=name, description="test", **fields))


def write_hf_chain(
    registry: Registry, *, background: bool = False, tracking_memory_mb: int = 2048
) -> None:
    """The 2022 heavy-flavour chain: charm signal (1 job), minimum bias (5 jobs), pile-up
    reading 1 signal and 5 minimum-bias files per job (and 2 external background files with
    ``background``), tracking reading 1 pile-up file per job."""
    requirements = {
        "memory_mb": 2048,
        "walltime_h": 24,
        "max_attempts": 1,
        "site": "BNL_OSG_SPHENIX",
    }
    write_step(
        registry,
        "signal",
        jobs=1,
        exec="touch signal.root",
        outputs=[{"name": "events", "files": "*.root"}],
        requirements=requirements,
    )
    write_step(
        registry,
        "minbias",
        jobs=5,
        exec="touch minbias.root",
        outputs=[{"name": "events", "files": "*.root"}],
        requirements=requirements,
    )
    inputs = [
        {"dataset": "signal.events", "files_per_job": 1},
        {"dataset": "minbias.events", "files_per_job": 5, "secondary": True},
    ]
    if background:
        inputs.append({"dataset": "mdc2.background", "files_per_job": 2, "secondary": True})
    write_step(
        registry,
        "pileup",
        inputs=inputs,
        exec="touch pileup.root",
        outputs=[{"name": "hits", "files": "pileup.root"}],
        requirements=requirements,
    )
    write_step(
        registry,
        "tracking",
        inputs=[{"dataset": "pileup.hits", "files_per_job": 1}],
        exec="touch dst.root",
        outputs=[{"name": "dst", "files": "dst.root"}],
        requirements={**requirements, "memory_mb": tracking_memory_mb},
    )


def as_another_user(tmp_path: Path) -> list[str]:
    """The command prefix that runs a process as a user without write access to what this
    user made: nobody (via setpriv) when the tests run as root, who ignores permissions — then
    ``tmp_path`` and its parents are opened for reading — else nothing (permissions apply)."""
    if os.geteuid() != 0:
        return []
    for parent in (tmp_path, *tmp_path.parents):
        if parent != Path("/"):
            parent.chmod(parent.stat().st_mode | 0o005)
    # Read and search everywhere (CAP_DAC_READ_SEARCH), so that nobody can run SHREK from a
    # clone in a directory only its owner may enter (a home, mktemp -d); writing is still
    # refused by permissions, which is what the read-only tests prove.
    return [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=+dac_read_search",
        "--ambient-caps=+dac_read_search",
    ]


def check_workflow(path: Path) -> None:
    """``path`` is valid by GitHub's workflow schema (the copy check-jsonschema ships)."""
    import subprocess
    import sys

    checked = subprocess.run(
        [
            str(Path(sys.executable).with_name("check-jsonschema")),
            "--builtin-schema",
            "vendor.github-workflows",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
