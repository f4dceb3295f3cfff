"""The validation cache answers unchanged tags and never hides a finding."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shrek.catalogs.factory import open_catalog
from shrek.core.cachekey import RACY_S
from shrek.core.registry import Registry
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.tag import TagRequest, new_tag
from shrek.ops.validation import CACHE_FILE, validate_cached
from tests.conftest import git

TAG = "sP22aa-local"


@pytest.fixture
def frozen(registry: Registry, tmp_path: Path) -> Registry:
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local", template="demo"))
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


def _copy_keeping_times(path: Path, text: str, tmp: Path) -> None:
    """cp -p: a new file with the old file's modification time."""
    source = tmp / "edited"
    source.write_text(text)
    os.utime(source, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    subprocess.run(["cp", "-p", str(source), str(path)], check=True)


def _touch_back(path: Path, text: str, tmp: Path) -> None:
    """An edit, then touch -r a copy of the original: the old modification time again."""
    reference = tmp / "reference"
    subprocess.run(["cp", "-p", str(path), str(reference)], check=True)
    path.write_text(text)
    subprocess.run(["touch", "-r", str(reference), str(path)], check=True)


def _untar(path: Path, text: str, tmp: Path) -> None:
    """tar x of an archive made from an edited copy that kept the old times."""
    stage = tmp / "stage"
    stage.mkdir()
    copy = stage / path.name
    copy.write_text(text)
    os.utime(copy, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    subprocess.run(["tar", "-cf", str(tmp / "a.tar"), "-C", str(stage), path.name], check=True)
    subprocess.run(["tar", "-xf", str(tmp / "a.tar"), "-C", str(path.parent)], check=True)


def _in_place_keeping_times(path: Path, text: str, tmp: Path) -> None:
    """What rsync -t --inplace does: the same inode rewritten, its times put back."""
    info = path.stat()
    with open(path, "r+", encoding="utf-8") as handle:
        handle.write(text)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


EDITS = {
    "cp -p": _copy_keeping_times,
    "touch -r": _touch_back,
    "tar x": _untar,
    "rsync -t --inplace": _in_place_keeping_times,
}


# what a same-size edit of each kind of file changes: (path in the tag, old text, new text)
TIMELESS = {
    "resource": ("bin/generate.py", "import", "iMport"),
    "step": ("job/demo-pass1.yaml", "jobs: 4", "jobs: 5"),
}


@pytest.mark.parametrize("racy", [False, True], ids=["settled", "same-tick"])
@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("kind", sorted(TIMELESS))
def test_a_same_size_edit_that_keeps_the_time_is_seen(
    frozen: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edit: str,
    racy: bool,
    kind: str,
) -> None:
    """A file of a frozen tag (a resource, a step definition) edited without changing its
    size or modification time: once the cache holds a key made long after the file was
    written (settled), and once made in the same instant as the edit (racy: the time stamps
    may not have ticked)."""
    relative, old_text, new_text = TIMELESS[kind]
    path = frozen.tag_dir(TAG) / relative
    whole = path.stat().st_mtime_ns // 10**9 * 10**9  # tar keeps whole seconds
    os.utime(path, ns=(whole, whole))
    old = path.stat()
    settled = old.st_ctime_ns + int(10 * RACY_S * 1e9)
    if not racy:  # as if the cache were written well after the file: keyed by its time stamps
        monkeypatch.setattr(time, "time_ns", lambda: settled)
    assert validate_cached(frozen).ok
    text = path.read_text()
    EDITS[edit](path, text.replace(old_text, new_text, 1), tmp_path)
    now = path.stat()
    assert now.st_size == old.st_size and now.st_mtime_ns == old.st_mtime_ns
    if not racy:  # a later run, still well after the edit
        monkeypatch.setattr(time, "time_ns", lambda: settled + int(20 * RACY_S * 1e9))
    report = validate_cached(Registry.open(frozen.root))
    assert not report.ok, f"{edit}: the cache hid a changed {kind}"
    name = Path(relative).name
    assert any(name in f.message or name in f.file for f in report.findings)


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


def test_a_damaged_cache_is_checked_afresh(frozen: Registry) -> None:
    assert validate_cached(frozen).ok
    cache = frozen.state_dir / CACHE_FILE
    kept = json.loads(cache.read_text())
    key = kept["tags"][TAG]["key"]
    for damaged in (5, "x", {"key": key}, {"key": key, "findings": [{"nonsense": 1}]}):
        kept["tags"][TAG] = damaged
        cache.write_text(json.dumps(kept))
        assert validate_cached(Registry.open(frozen.root)).ok, damaged
