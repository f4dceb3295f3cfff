"""The validation cache answers unchanged tags and never hides a finding."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from shrek.catalogs.factory import open_catalog
from shrek.core.registry import Registry
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.tag import new_tag
from shrek.ops.validation import CACHE_FILE, validate_cached
from tests.conftest import git

TAG = "sP22aa-local"


@pytest.fixture
def frozen(registry: Registry, tmp_path: Path) -> Registry:
    new_tag(registry, label="sP22aa", skip_to=True, build="local", template="demo")
    background = tmp_path / "mb.txt"
    background.write_text("minbias\n")
    add_files(open_catalog(registry), "demo.minbias.background", [background])
    freeze(registry, TAG)
    return registry


def _edit(path: Path, old: str, new: str) -> None:
    """Change a few bytes, keeping the size (the cache must see content, not only sizes)."""
    assert len(old) == len(new)
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


# kind -> (file, text, same-size replacement that validation must notice)
KINDS: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "tag.yaml": (lambda tag: tag / "tag.yaml", "title:", "titlE:"),
    "step": (lambda tag: tag / "job" / "demo-pass1.yaml", "jobs: 4", "jobs: 5"),
    "freeze.yaml": (lambda tag: tag / "freeze.yaml", "sha256: ", "sha256:0"),
    "input list": (lambda tag: next((tag / "inputs").iterdir()), "adler32:", "adler32;"),
    "resource": (lambda tag: tag / "bin" / "generate.py", "import", "iMport"),
    "shrek.yaml": (lambda tag: tag.parent.parent / "shrek.yaml", "  local:", "  locaL:"),
    "ledger": (lambda tag: tag.parent.parent / "labels.ledger", "sP22aa-local", "sP22aa-locaL"),
}


def test_a_warm_run_answers_from_the_cache(frozen: Registry) -> None:
    first = validate_cached(frozen)
    assert first.ok and (frozen.state_dir / CACHE_FILE).is_file()
    cached = json.loads((frozen.state_dir / CACHE_FILE).read_text())
    assert set(cached["tags"]) == {TAG}
    # a poisoned entry with the right key is what a warm run answers: proof it is consulted
    cached["tags"][TAG]["findings"] = [
        {"file": "x", "line": 1, "column": 1, "message": "from the cache", "fix": "none"}
    ]
    (frozen.state_dir / CACHE_FILE).write_text(json.dumps(cached))
    assert [f.message for f in validate_cached(frozen).findings] == ["from the cache"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_one_changed_byte_in_any_kind_of_file_is_seen(frozen: Registry, kind: str) -> None:
    assert validate_cached(frozen).ok
    where, old, new = KINDS[kind]
    path = where(frozen.tag_dir(TAG))
    before = path.stat().st_mtime_ns
    _edit(path, old, new)
    os.utime(path, ns=(before, before + 1))  # the same size, a later time: as an edit does
    report = validate_cached(Registry.open(frozen.root))  # as each command opens it anew
    assert not report.ok, f"a changed {kind} went unnoticed"


def test_a_state_directory_that_cannot_be_written_still_answers(frozen: Registry) -> None:
    """A read-only checkout: the cache cannot be written (a file where its directory should
    be fails even for root, unlike permissions), and validation answers all the same."""
    assert validate_cached(frozen).ok
    cache_dir = (frozen.state_dir / CACHE_FILE).parent
    for path in cache_dir.iterdir():
        path.unlink()
    cache_dir.rmdir()
    cache_dir.write_text("not a directory\n")
    assert validate_cached(Registry.open(frozen.root)).ok
    assert cache_dir.read_text() == "not a directory\n"
    assert git(frozen.root, "status", "--porcelain") == ""
