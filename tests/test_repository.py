"""The project's own repository: nothing machine-specific is ever tracked."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def _checker():
    spec = importlib.util.spec_from_file_location(
        "check_tracked", PROJECT / "scripts" / "check_tracked.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_project_tracks_no_environment_or_build_output() -> None:
    assert _checker().problems(PROJECT) == []


def test_a_tracked_virtualenv_is_found(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for path in (".venv-rucio/bin/python3", "pkg/__pycache__/m.cpython-311.pyc", "ok/main.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x\n")
    (tmp_path / "big.bin").write_bytes(b"\0" * (1024 * 1024 + 1))
    git("add", "-f", ".")
    found = _checker().problems(tmp_path)
    assert [line.split(":")[0] for line in found] == [
        ".venv-rucio/bin/python3",
        "big.bin",
        "pkg/__pycache__/m.cpython-311.pyc",
    ]
