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


def _said(argv: list[str]) -> str | None:
    """What the quick answer prints on standard output (None: typer answers)."""
    given = answer(argv)
    return None if given is None else given.out


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
    assert _said(argv) is None  # no listing kept yet: typer answers, and keeps it
    full = shrek(*argv)
    assert full.code == 0 and "sP22aa" in full.out and "sP22ab" in full.out
    assert _said(argv) == full.out
    assert shrek(*argv).out == full.out


def test_an_empty_registry_says_so_the_same_way(registry: Registry, shrek, monkeypatch) -> None:
    monkeypatch.chdir(registry.root)
    monkeypatch.delenv("SHREK_REGISTRY", raising=False)
    future = time.time_ns() + int(100 * RACY_S * 1e9)
    monkeypatch.setattr(time, "time_ns", lambda: future)
    full = shrek("tag", "list")
    assert "no tags yet" in full.out
    assert _said(["tag", "list"]) == full.out


def test_only_the_exact_questions_are_answered(listed: Registry, shrek) -> None:
    shrek("tag", "list")
    for argv in (
        ["tag", "list", "extra"],
        ["tag", "list", "--json", "--json"],
        ["--registry", str(listed.root), "tag", "list"],
        ["tag", "show", "sP22aa"],
        ["tag"],
    ):
        assert _said(argv) is None, argv


def test_the_registry_is_found_as_typer_finds_it(
    listed: Registry, shrek, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    expected = shrek("tag", "list").out
    monkeypatch.chdir(listed.tag_dir("sP22aa-local") / "job")  # below the root
    assert _said(["tag", "list"]) == expected
    monkeypatch.chdir(tmp_path)  # outside: typer says where to go
    assert _said(["tag", "list"]) is None
    monkeypatch.setenv("SHREK_REGISTRY", str(listed.root))
    assert _said(["tag", "list"]) == expected
    for elsewhere in ("", str(tmp_path), str(listed.root / "shrek.yaml")):
        monkeypatch.setenv("SHREK_REGISTRY", elsewhere)
        assert _said(["tag", "list"]) is None, elsewhere


def test_a_row_that_cannot_be_printed_as_it_is_is_left_to_typer(
    listed: Registry, shrek, monkeypatch: pytest.MonkeyPatch
) -> None:
    shrek("tag", "list")
    cache = listed.state_dir / "cache" / "listing.json"
    kept = json.loads(cache.read_text())
    kept["tags"]["sP22aa-local"][2]["title"] = "\x1b[31mred\x1b[0m"
    cache.write_text(json.dumps(kept))
    assert _said(["tag", "list"]) is None  # click strips terminal codes off a pipe
    assert "\\u001b" in _said(["tag", "list", "--json"])  # JSON escapes them
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    kept["tags"]["sP22aa-local"][2]["title"] = TITLE
    cache.write_text(json.dumps(kept))
    assert _said(["tag", "list"]) is None  # é cannot be written: click decides how


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
    validated = shrek("validate")
    assert validated.returncode == 0 and "typer loaded: False" in validated.stderr
    assert validated.stdout == "ok: 1 tag(s) valid (sP22aa-local)\n"


# -- shrek validate -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags", [[], ["--json"], ["--no-cache"], ["--no-cache", "--json"], ["--json", "--no-cache"]]
)
def test_validate_answers_as_typer_does(listed: Registry, shrek, flags: list[str]) -> None:
    for broken in (False, True):
        if broken:  # a finding: on standard error, exit code 1, in both
            tag_yaml = listed.tag_dir("sP22ab-local") / "tag.yaml"
            tag_yaml.write_text(tag_yaml.read_text().replace("title: ", "title: 5 #", 1))
        full = shrek("validate", *flags)
        assert full.code == (1 if broken else 0), full.err
        quick = answer(["validate", *flags])
        assert quick is not None
        assert (quick.out, quick.err, quick.code) == (full.out, full.err, full.code), flags
        said = full.out if "--json" in flags else full.err
        assert ("integer (5)" in said) == broken, said


def test_validate_leaves_what_it_cannot_answer_to_typer(listed: Registry, shrek) -> None:
    assert answer(["validate", "--json", "--json"]) is None  # typer's rules for repeats
    assert answer(["validate", "sP22aa"]) is None  # arguments: typer parses them
    assert answer(["validate", "--no-cach"]) is None
    settings = listed.root / "shrek.yaml"
    settings.write_text(settings.read_text() + "label_prefix: [\n")
    assert answer(["validate"]) is None  # the registry cannot be opened: typer says why
    refused = shrek("validate")
    assert refused.code == 1 and "shrek.yaml is invalid" in refused.err
