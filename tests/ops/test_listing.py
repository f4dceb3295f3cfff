"""``tag list`` answers from its cache, and the cache never hides a change of any row."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from shrek.core import cachekey
from shrek.core.cachekey import RACY_S
from shrek.core.registry import Registry
from shrek.ops.listing import CACHE_FILE, listing
from shrek.ops.tag import TagRequest, new_tag, overview
from tests.ops.test_validation_cache import EDITS

TAG = "sP22aa-local"


@pytest.fixture
def two_tags(registry: Registry) -> Registry:
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local", template="demo"))
    new_tag(registry, TagRequest(label="sP22ab", build="local", template="demo"))
    return registry


def _settled(monkeypatch: pytest.MonkeyPatch, path: Path, later: int = 10) -> None:
    """As if the command ran well after ``path`` was last written (its stamps not racy)."""
    stamp = path.stat().st_ctime_ns + int(later * RACY_S * 1e9)
    monkeypatch.setattr(time, "time_ns", lambda: stamp)


def test_the_rows_are_what_reading_each_tag_gives_and_a_warm_run_uses_the_cache(
    two_tags: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(monkeypatch, two_tags.tag_dir("sP22ab-local") / "tag.yaml")
    rows = listing(two_tags)
    assert rows == [
        {**overview(two_tags, name), "tainted": 0} for name in ("sP22aa-local", "sP22ab-local")
    ]
    cache = two_tags.state_dir / CACHE_FILE
    kept = json.loads(cache.read_text())
    assert set(kept["tags"]) == {"sP22aa-local", "sP22ab-local"}
    kept["tags"][TAG][1]["title"] = "from the cache"  # a poisoned row under the right key
    cache.write_text(json.dumps(kept))
    assert listing(Registry.open(two_tags.root))[0]["title"] == "from the cache"


@pytest.mark.parametrize("racy", [False, True], ids=["settled", "same-tick"])
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_same_size_edit_of_tag_yaml_that_keeps_the_time_is_seen(
    two_tags: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str, racy: bool
) -> None:
    tag_yaml = two_tags.tag_dir(TAG) / "tag.yaml"
    whole = tag_yaml.stat().st_mtime_ns // 10**9 * 10**9  # tar keeps whole seconds
    os.utime(tag_yaml, ns=(whole, whole))
    before = tag_yaml.stat()
    if not racy:
        _settled(monkeypatch, tag_yaml)
    title = listing(two_tags)[0]["title"]
    text = tag_yaml.read_text()
    EDITS[edit](tag_yaml, text.replace(f"title: {title}", f"title: {title.upper()}"), tmp_path)
    after = tag_yaml.stat()
    assert after.st_size == before.st_size and after.st_mtime_ns == before.st_mtime_ns
    if not racy:
        _settled(monkeypatch, tag_yaml, later=30)
    assert listing(Registry.open(two_tags.root))[0]["title"] == title.upper(), edit


def test_steps_records_and_events_change_the_row(
    two_tags: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each edit lands well before the run looks (not racy): only the stats can reveal it."""
    directory = two_tags.tag_dir(TAG)
    future = time.time_ns() + int(100 * RACY_S * 1e9)
    monkeypatch.setattr(time, "time_ns", lambda: future)
    assert listing(two_tags)[0]["steps"] == 2
    step = directory / "job" / "demo-pass1.yaml"
    (directory / "job" / "extra.yaml").write_text(step.read_text())
    assert listing(Registry.open(two_tags.root))[0]["steps"] == 3
    (directory / "freeze.yaml").write_text("schema_version: 1\n")  # state: draft -> frozen
    assert listing(Registry.open(two_tags.root))[0]["state"] == "frozen"
    (directory / "lifecycle").mkdir()
    superseded = {
        "schema_version": 1,
        "kind": "superseded",
        "at": "2026-01-01T00:00:00Z",
        "by": "bench",
        "reason": "a better one",
        "tag": "sP22ab-local",
    }
    (directory / "lifecycle" / "0001.yaml").write_text(json.dumps(superseded))
    assert listing(Registry.open(two_tags.root))[0]["state"] == "superseded"


def test_another_shreks_rows_are_never_used(
    two_tags: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(monkeypatch, two_tags.tag_dir("sP22ab-local") / "tag.yaml")
    listing(two_tags)
    cache = two_tags.state_dir / CACHE_FILE
    kept = json.loads(cache.read_text())
    kept["tags"][TAG][1]["title"] = "from an older SHREK"
    cache.write_text(json.dumps(kept))
    monkeypatch.setattr(cachekey, "_CODE", ["another code"])
    assert listing(Registry.open(two_tags.root))[0]["title"] != "from an older SHREK"


def test_a_state_directory_that_cannot_be_written_still_lists(
    two_tags: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(monkeypatch, two_tags.tag_dir("sP22ab-local") / "tag.yaml")
    listing(two_tags)
    cache_dir = (two_tags.state_dir / CACHE_FILE).parent
    for path in cache_dir.iterdir():
        path.unlink()
    cache_dir.rmdir()
    cache_dir.write_text("not a directory\n")
    assert [r["label"] for r in listing(Registry.open(two_tags.root))] == ["sP22aa", "sP22ab"]


def test_a_damaged_cache_is_read_afresh(
    two_tags: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(monkeypatch, two_tags.tag_dir("sP22ab-local") / "tag.yaml")
    expected = listing(two_tags)
    cache = two_tags.state_dir / CACHE_FILE
    kept = json.loads(cache.read_text())
    for damaged in (5, "x", [kept["tags"][TAG][0]], [kept["tags"][TAG][0], 3], None):
        kept["tags"][TAG] = damaged
        cache.write_text(json.dumps(kept))
        assert listing(Registry.open(two_tags.root)) == expected, damaged
    cache.write_text("{not json")
    assert listing(Registry.open(two_tags.root)) == expected
