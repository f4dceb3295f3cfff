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
from shrek.ops import listing as listing_module
from shrek.ops.dataset import register_files
from shrek.ops.freeze import freeze
from shrek.ops.lifecycle import invalidate
from shrek.ops.listing import CACHE_FILE, cached_listing, listing
from shrek.ops.plan import SubmitRequest
from shrek.ops.submit import submit
from shrek.ops.tag import TagRequest, new_tag, overview
from tests.ops.conftest import wait
from tests.ops.test_validation_cache import EDITS
from tests.records import copy_record

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
    kept["tags"][TAG][2]["title"] = "from the cache"  # a poisoned row under the right key
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
    kept["tags"][TAG][2]["title"] = "from an older SHREK"
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


def _kept(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> tuple[list, Path, dict]:
    """The listing, the cache file it wrote (settled: every tag kept), and what it holds."""
    _settled(monkeypatch, registry.tag_dir("sP22ab-local") / "tag.yaml")
    expected = listing(registry)
    cache = registry.state_dir / CACHE_FILE
    return expected, cache, json.loads(cache.read_text())


def test_a_damaged_cache_is_read_afresh(
    two_tags: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected, cache, kept = _kept(two_tags, monkeypatch)
    good = kept["tags"][TAG]
    for damaged in (
        5,
        "x",
        good[:2],
        [good[0], 3, good[2]],
        [99, *good[1:]],
        [True, *good[1:]],
        None,
    ):
        kept["tags"][TAG] = damaged
        cache.write_text(json.dumps(kept))
        assert listing(Registry.open(two_tags.root)) == expected, damaged
    cache.write_text("{not json")
    assert listing(Registry.open(two_tags.root)) == expected


def test_damaged_shapes_are_read_afresh(
    two_tags: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected, cache, kept = _kept(two_tags, monkeypatch)
    for damaged in (None, "x", [3], [["tag.yaml", 4]], [["../../../etc/passwd"]], [["/etc"]]):
        cache.write_text(json.dumps({**kept, "shapes": damaged}))
        assert cached_listing(str(two_tags.root)) is None, damaged
        assert listing(Registry.open(two_tags.root)) == expected, damaged


def test_a_planted_shape_outside_the_tags_is_never_trusted(
    two_tags: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache whose keys were made, correctly, from paths outside the tags (a planted file)
    still gives nothing back: keys only ever cover paths inside a tag."""
    _, cache, kept = _kept(two_tags, monkeypatch)
    bound = cachekey.racy_bound()
    for outside in (["../../shrek.yaml"], [str(two_tags.root / "shrek.yaml")]):
        planted = {**kept, "shapes": [outside]}
        for name, entry in planted["tags"].items():
            directory = str(two_tags.tag_dir(name))
            entry[0], entry[1] = 0, listing_module._digest(directory, outside, bound)
            entry[2]["title"] = "planted"
        cache.write_text(json.dumps(planted))
        assert cached_listing(str(two_tags.root)) is None, outside


# -- the whole listing, kept for the quick answer (shrek.cli.quick) -------------------------


def test_the_whole_listing_is_given_back_while_nothing_changed(
    two_tags: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = str(two_tags.root)
    assert cached_listing(root) is None  # nothing kept yet
    _settled(monkeypatch, two_tags.tag_dir("sP22ab-local") / "tag.yaml")
    expected = listing(two_tags)
    assert cached_listing(root) == expected
    assert cached_listing(root) == expected  # reading it keeps it


def test_nothing_is_given_back_while_a_stamp_is_racy(two_tags: Registry) -> None:
    listing(two_tags)  # every file was written just now
    assert not json.loads((two_tags.state_dir / CACHE_FILE).read_text())["whole"]
    assert cached_listing(str(two_tags.root)) is None


def _add_tag(registry: Registry) -> None:
    new_tag(registry, TagRequest(label="sP22ac", build="local", template="demo"))


def _remove_tag(registry: Registry) -> None:
    import shutil

    shutil.rmtree(registry.tag_dir("sP22ab-local"))


def _new_prefix(registry: Registry) -> None:
    settings = registry.root / "shrek.yaml"
    settings.write_text(settings.read_text() + "# a comment changes nothing but the file\n")


def _new_record(registry: Registry) -> None:
    copy_record(registry.tag_dir(TAG) / "submissions" / "demo-pass1", 2)


def _rewritten_record(registry: Registry) -> None:
    record = registry.tag_dir(TAG) / "submissions" / "demo-pass1" / "0001.yaml"
    info = record.stat()
    with open(record, "r+") as handle:  # in place, same size and time: the directory and
        handle.write("# shrek")  # the modification time do not change
    os.utime(record, ns=(info.st_atime_ns, info.st_mtime_ns))


def _event(registry: Registry) -> None:
    invalidate(registry, f"{TAG}/demo-pass1", "wrong seed")


def _new_step(registry: Registry) -> None:
    job = registry.tag_dir(TAG) / "job"
    (job / "extra.yaml").write_text((job / "demo-pass1.yaml").read_text())


CHANGES = {
    "a tag added": _add_tag,
    "a tag removed": _remove_tag,
    "shrek.yaml edited": _new_prefix,
    "a record written": _new_record,
    "a record rewritten in place": _rewritten_record,
    "an invalidation": _event,
    "a step added": _new_step,
}


@pytest.fixture
def produced(two_tags: Registry, tmp_path: Path) -> Registry:
    """The two tags, the first frozen and its first step run to the end (one record)."""
    background = tmp_path / "background.txt"
    background.write_text("minbias 1 0.1 0.2 0.3\n" * 20)
    register_files(two_tags, "demo.minbias.background", [background])
    freeze(two_tags, TAG)
    submit(two_tags, SubmitRequest(f"{TAG}/demo-pass1"), wait=wait)
    return two_tags


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_of_what_the_listing_read_is_never_given_back(
    produced: Registry, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Each change lands well before the listing looks (not racy): only the stats of the
    files and directories can reveal it."""
    two_tags = produced
    root = str(two_tags.root)
    future = time.time_ns() + int(100 * RACY_S * 1e9)
    monkeypatch.setattr(time, "time_ns", lambda: future)
    listing(two_tags)
    assert cached_listing(root) is not None
    CHANGES[change](two_tags)
    assert cached_listing(root) is None, change
    monkeypatch.setattr(time, "time_ns", lambda: future + int(100 * RACY_S * 1e9))
    expected = listing(Registry.open(two_tags.root))
    assert cached_listing(root) == expected, change


def test_another_shreks_listing_is_never_given_back(
    two_tags: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(monkeypatch, two_tags.tag_dir("sP22ab-local") / "tag.yaml")
    listing(two_tags)
    monkeypatch.setattr(cachekey, "_CODE", ["another code"])
    assert cached_listing(str(two_tags.root)) is None
