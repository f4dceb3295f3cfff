"""``shrek … --help`` from the text typer printed before (shrek/helpcache.py): the same
bytes, only for the same code, words and width, and never for a question typer refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shrek.helpcache import asked


def _help(*words: str, cache: Path, columns: str = "100") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "shrek", *words],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(cache), "COLUMNS": columns},
        timeout=60,
    )


def test_only_a_plain_help_question_is_answered_from_the_cache() -> None:
    assert asked(["tag", "new", "--help"]) == ["tag", "new"]
    assert asked(["-h"]) == []
    assert asked(["tag", "new", "--title", "--help"]) is None  # --help may be the title
    assert asked(["--registry", "r", "--help"]) is None
    assert asked(["submit"]) is None and asked([]) is None


def test_the_kept_help_is_typers_own_text_for_the_same_question(tmp_path: Path) -> None:
    first = _help("submit", "--help", cache=tmp_path)
    assert first.returncode == 0 and "Usage: shrek submit" in first.stdout
    (kept,) = (tmp_path / "shrek" / "help").iterdir()
    again = _help("submit", "--help", cache=tmp_path)
    assert again.returncode == 0 and again.stdout == first.stdout
    header, _, _ = kept.read_text().partition("\n")
    kept.write_text(header + "\nfrom the cache\n")
    assert _help("submit", "--help", cache=tmp_path).stdout == "from the cache\n"
    narrow = _help("submit", "--help", cache=tmp_path, columns="60")  # another width: typer
    assert "Usage: shrek submit" in narrow.stdout and narrow.stdout != first.stdout
    kept.write_text("a key of other code\nfrom the cache\n")
    assert _help("submit", "--help", cache=tmp_path).stdout == first.stdout  # not used


def test_a_refused_question_is_not_kept(tmp_path: Path) -> None:
    refused = _help("no-such-command", "--help", cache=tmp_path)
    assert refused.returncode != 0
    assert not (tmp_path / "shrek" / "help").exists()
