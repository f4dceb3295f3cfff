"""The checked-records cache (shrek/core/recordcache.py): new records are appended, the file is
written whole once most of it is stale, and a torn or foreign line costs a check, never a
wrong answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shrek.core.recordcache import SLACK, read_checked
from shrek.core.records import CHECKED_RECORDS, load_records
from shrek.core.registry import Registry
from tests.ops.conftest import DEMO_TAG as TAG


@pytest.fixture
def history(demo: Registry, shrek) -> Registry:
    """The demo tag with three finished submissions of its first step."""
    for args in (["submit", "sP22aa/demo-pass1"], ["submit", "sP22aa/demo-pass1", "--again"]):
        assert shrek(*args, cwd=demo.root).code == 0
    assert shrek("submit", "sP22aa/demo-pass1", "--again", cwd=demo.root).code == 0
    return demo


def _cache(registry: Registry) -> Path:
    return registry.state_dir / CHECKED_RECORDS / f"{TAG}.jsonl"


def _states(registry: Registry) -> list[tuple[int, str]]:
    return [(r.number, r.state) for r in load_records(registry.tag_dir(TAG))]


def _changed_record(registry: Registry) -> None:
    """One record's content changes (as a refresh that appends to its history would)."""
    path = load_records(registry.tag_dir(TAG))[0].path
    path.write_text(path.read_text() + "# a comment line changes the digest\n")


def test_a_changed_record_is_appended_not_the_file_written_again(history: Registry) -> None:
    load_records(history.tag_dir(TAG))
    cache = _cache(history)
    before, inode = cache.read_text(), cache.stat().st_ino
    _changed_record(history)
    load_records(history.tag_dir(TAG))
    after = cache.read_text()
    assert cache.stat().st_ino == inode and after.startswith(before)
    assert len(after.splitlines()) == len(before.splitlines()) + 1
    assert read_checked(cache).appendable


def test_the_file_is_written_whole_once_most_of_it_is_stale(history: Registry) -> None:
    load_records(history.tag_dir(TAG))
    cache = _cache(history)
    live = len(load_records(history.tag_dir(TAG)))
    for _ in range(live + SLACK + 2):
        _changed_record(history)
        load_records(history.tag_dir(TAG))
    assert read_checked(cache).lines <= 2 * live + SLACK
    assert len(read_checked(cache).entries) >= live


def test_a_torn_line_is_checked_again_and_the_file_written_whole(history: Registry) -> None:
    expected = _states(history)
    cache = _cache(history)
    text = cache.read_text()
    cache.write_text(text[:-20])  # a crash in the middle of the last line
    torn = read_checked(cache)
    assert not torn.appendable and len(torn.entries) == len(text.splitlines()) - 2
    assert _states(history) == expected
    whole = read_checked(cache)
    assert whole.appendable and whole.lines == len(expected)


def test_a_foreign_line_is_skipped_and_the_rest_still_answer(history: Registry) -> None:
    expected = _states(history)
    cache = _cache(history)
    header, first, *rest = cache.read_text().splitlines()
    digest = first.partition(" ")[0]
    lines = [header, f"{digest} not json", f"{'0' * 64} 1, 2", *rest, ""]
    cache.write_text("\n".join(lines))
    found = read_checked(cache)
    assert digest not in found.entries and "0" * 64 not in found.entries
    assert len(found.entries) == len(rest)
    assert _states(history) == expected


def test_another_schemas_cache_and_the_old_json_file_are_replaced(history: Registry) -> None:
    expected = _states(history)
    cache = _cache(history)
    old = cache.with_suffix(".json")
    old.write_text(json.dumps({"seed": "x", "records": {}}))
    cache.write_text("shrek checked records 1 sha256:another-schema\n")
    assert read_checked(cache).entries == {}
    assert _states(history) == expected
    assert len(read_checked(cache).entries) == len(expected) and not old.exists()
