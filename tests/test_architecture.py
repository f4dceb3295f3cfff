"""The layers hold, and breaking them fails the lint (import-linter's contracts)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / ".importlinter"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_the_layers_hold() -> None:
    result = _lint(PROJECT)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "6 kept, 0 broken" in result.stdout


def test_an_upward_import_or_a_cycle_fails_the_lint(tmp_path: Path) -> None:
    shutil.copytree(PROJECT / "shrek", tmp_path / "shrek", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(PROJECT / ".importlinter", tmp_path / ".importlinter")
    model = tmp_path / "shrek" / "core" / "model.py"
    model.write_text(
        model.read_text() + "\n\ndef _oops():\n    from shrek.ops import submit  # noqa\n"
    )
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "shrek.core.model -> shrek.ops.submit" in result.stdout
    model.write_text(model.read_text().replace("from shrek.ops import submit", "import shrek.git"))
    local = tmp_path / "shrek" / "backends" / "local" / "__init__.py"
    local.write_text(local.read_text() + "\nimport shrek.backends.panda  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode != 0 and "The backends do not know each other BROKEN" in result.stdout


def test_ops_reaching_past_an_interface_or_cli_past_ops_fails_the_lint(tmp_path: Path) -> None:
    """The interface contracts: ops may not import a concrete backend or catalogue (only the
    interfaces and factories), and the command line nothing below ops but its output helper."""
    shutil.copytree(PROJECT / "shrek", tmp_path / "shrek", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(PROJECT / ".importlinter", tmp_path / ".importlinter")
    probe = tmp_path / "shrek" / "ops" / "probe.py"
    probe.write_text(probe.read_text() + "\n\ndef _oops():\n    from shrek.catalogs import local\n")
    tag = tmp_path / "shrek" / "cli" / "tag.py"
    tag.write_text(tag.read_text() + "\n\ndef _oops():\n    from shrek.core import model\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "shrek.ops.probe -> shrek.catalogs.local" in result.stdout
    assert "shrek.cli.tag -> shrek.core.model" in result.stdout
