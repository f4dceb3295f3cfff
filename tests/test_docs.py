"""Docs people can read: a short README, a documentation site that builds without a warning,
and reference pages generated from the code that cannot fall behind it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shrek.errors import MEANINGS, ExitCode
from tests.conftest import PROJECT

BIN = Path(sys.executable).parent


def test_the_readme_is_short_and_says_where_to_read_on() -> None:
    readme = (PROJECT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for page in ("teams", "panda", "rucio", "import-2022", "development"):
        assert f"(docs/{page}.md)" in readme and (PROJECT / "docs" / f"{page}.md").is_file()
    assert "make demo" in readme and "make test" in readme


def test_every_exit_code_has_its_meaning() -> None:
    assert set(MEANINGS) == set(ExitCode)
    assert all(text.strip() for text in MEANINGS.values())


def test_the_generated_pages_are_those_the_code_makes(tmp_path: Path) -> None:
    checked = subprocess.run(
        [sys.executable, str(PROJECT / "scripts" / "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout
    reference = (PROJECT / "docs" / "reference" / "commands.md").read_text()
    for command in ("shrek submit", "shrek tag new", "shrek dataset add", "shrek site"):
        assert f"## `{command}`" in reference
    assert "--shrek-install" in reference  # an option added to init is in its reference
    codes = (PROJECT / "docs" / "reference" / "exit-codes.md").read_text()
    assert all(f"| {int(code)} | {code.name} |" in codes for code in ExitCode)


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    built = subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert (tmp_path / "site" / "teams" / "index.html").is_file()
    assert (tmp_path / "site" / "reference" / "exit-codes" / "index.html").is_file()
