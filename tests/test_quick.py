"""``shrek tag list`` answered without typer (shrek/cli/quick.py): the very text the full
command prints, only when the whole cached listing still holds, and never for another
question."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shrek.cli.quick import answer
from shrek.core.cachekey import RACY_S
from shrek.core.registry import Registry
from shrek.ops.tag import TagRequest, new_tag

TITLE = "A title with an é, and spaces"


@pytest.fixture
def listed(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> Registry:
    """Two tags, the cache written well after they were (not racy), from the registry."""
    new_tag(
        registry,
        TagRequest(label="sP22aa", skip_to=True, build="local", template="demo", title=TITLE),
    )
    new_tag(registry, TagRequest(label="sP22ab", build="local", template="demo"))
    future = time.time_ns() + int(100 * RACY_S * 1e9)
    monkeypatch.setattr(time, "time_ns", lambda: future)
    monkeypatch.chdir(registry.root)
    monkeypatch.delenv("SHREK_REGISTRY", raising=False)
    return registry


@pytest.mark.parametrize("argv", [["tag", "list"], ["tag", "list", "--json"]])
def test_the_quick_answer_is_the_full_commands_text(listed: Registry, shrek, argv) -> None:
    assert answer(argv) is None  # no listing kept yet: typer answers, and keeps it
    full = shrek(*argv)
    assert full.code == 0 and "sP22aa" in full.out and "sP22ab" in full.out
    assert answer(argv) == full.out
    assert shrek(*argv).out == full.out


def test_an_empty_registry_says_so_the_same_way(registry: Registry, shrek, monkeypatch) -> None:
    monkeypatch.chdir(registry.root)
    monkeypatch.delenv("SHREK_REGISTRY", raising=False)
    future = time.time_ns() + int(100 * RACY_S * 1e9)
    monkeypatch.setattr(time, "time_ns", lambda: future)
    full = shrek("tag", "list")
    assert "no tags yet" in full.out
    assert answer(["tag", "list"]) == full.out


def test_only_the_exact_questions_are_answered(listed: Registry, shrek) -> None:
    shrek("tag", "list")
    for argv in (
        ["tag", "list", "extra"],
        ["tag", "list", "--json", "--json"],
        ["--registry", str(listed.root), "tag", "list"],
        ["tag", "show", "sP22aa"],
        ["tag"],
    ):
        assert answer(argv) is None, argv


def test_the_registry_is_found_as_typer_finds_it(
    listed: Registry, shrek, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    expected = shrek("tag", "list").out
    monkeypatch.chdir(listed.tag_dir("sP22aa-local") / "job")  # below the root
    assert answer(["tag", "list"]) == expected
    monkeypatch.chdir(tmp_path)  # outside: typer says where to go
    assert answer(["tag", "list"]) is None
    monkeypatch.setenv("SHREK_REGISTRY", str(listed.root))
    assert answer(["tag", "list"]) == expected
    for elsewhere in ("", str(tmp_path), str(listed.root / "shrek.yaml")):
        monkeypatch.setenv("SHREK_REGISTRY", elsewhere)
        assert answer(["tag", "list"]) is None, elsewhere


def test_a_row_that_cannot_be_printed_as_it_is_is_left_to_typer(
    listed: Registry, shrek, monkeypatch: pytest.MonkeyPatch
) -> None:
    shrek("tag", "list")
    cache = listed.state_dir / "cache" / "listing.json"
    kept = json.loads(cache.read_text())
    kept["tags"]["sP22aa-local"][2]["title"] = "\x1b[31mred\x1b[0m"
    cache.write_text(json.dumps(kept))
    assert answer(["tag", "list"]) is None  # click strips terminal codes off a pipe
    assert "\\u001b" in answer(["tag", "list", "--json"])  # JSON escapes them
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    kept["tags"]["sP22aa-local"][2]["title"] = TITLE
    cache.write_text(json.dumps(kept))
    assert answer(["tag", "list"]) is None  # é cannot be written: click decides how


def test_the_shrek_command_answers_without_loading_typer(registry: Registry) -> None:
    """As a user runs it: a new process, once to keep the listing, then after the files have
    settled (older than the racy window) from the cache alone."""
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local", template="demo"))
    time.sleep(RACY_S + 0.5)
    probe = (
        "import sys; from shrek.entry import main\n"
        "try:\n    main()\nfinally:\n"
        "    sys.stderr.write(f'typer loaded: {\"typer\" in sys.modules}\\n')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SHREK_REGISTRY"}

    def shrek(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", probe, *argv],
            cwd=registry.root,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    full = shrek("tag", "list")
    assert full.returncode == 0 and "typer loaded: True" in full.stderr
    quick = shrek("tag", "list")
    assert quick.returncode == 0 and "typer loaded: False" in quick.stderr
    assert quick.stdout == full.stdout and "sP22aa" in quick.stdout
    refused = shrek("tag", "list", "extra")
    assert refused.returncode == 2 and "typer loaded: True" in refused.stderr
