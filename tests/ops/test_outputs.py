"""Outputs are checked: ``verify --outputs`` reads every catalogued output back, a damaged
upstream output is refused before a submission reads it, and the store never overwrites."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shrek.backends.local.runner import place
from shrek.catalogs.factory import open_catalog
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode
from tests.conftest import git
from tests.ops.conftest import DEMO_TAG as TAG

EVENTS = f"prod.{TAG}.demo-pass1.events.s0001"


def _store_file(registry: Registry, n: int) -> Path:
    return registry.state_dir / "store" / EVENTS / f"{TAG}.demo-pass1.events._{n:06d}.txt"


def test_verify_outputs_names_each_missing_or_changed_file(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa", cwd=demo.root).code == 0
    intact = shrek("verify", "--outputs", cwd=demo.root)
    assert intact.code == 0, intact.err
    assert f"{TAG}: ok, 2 output dataset(s), 8 file(s) as catalogued" in intact.out
    changed, missing, same_size = _store_file(demo, 1), _store_file(demo, 2), _store_file(demo, 3)
    changed.write_text(changed.read_text() + "one more line\n")
    missing.unlink()
    text = same_size.read_text()
    same_size.write_text(text[:-2] + "X\n")  # same size, other bytes: only the checksum sees it
    result = shrek("verify", "--outputs", "sP22aa", cwd=demo.root)
    assert result.code == ExitCode.DRIFT
    assert f"{TAG}: 3 output file(s) not as catalogued" in result.err
    assert f"{EVENTS}: {changed.name}: changed: " in result.err
    assert "bytes, catalogued" in result.err
    assert f"{EVENTS}: {missing.name}: missing: {missing} does not exist" in result.err
    assert f"{EVENTS}: {same_size.name}: changed: adler32 " in result.err
    as_json = json.loads(shrek("verify", "--outputs", "--json", cwd=demo.root).out)
    (events,) = [d for d in as_json[0]["datasets"] if d["dataset"] == EVENTS]
    assert events["files"] == 4 and len(events["problems"]) == 3


def test_a_copied_registry_verifies_its_own_outputs(demo: Registry, shrek, tmp_path) -> None:
    """The catalogue held absolute paths: a copy's verify read the original's files and said
    ok for its own damaged ones (issue 26)."""
    assert shrek("submit", "sP22aa", cwd=demo.root).code == 0
    copy = tmp_path / "copy"
    shutil.copytree(demo.root, copy, symlinks=True)
    damaged = copy / _store_file(demo, 1).relative_to(demo.root)
    damaged.write_text("not what the job wrote\n")
    result = shrek("verify", "--outputs", "sP22aa", cwd=copy)
    assert result.code == ExitCode.DRIFT, result.out + result.err
    assert f"{EVENTS}: {damaged.name}: changed: " in result.err
    assert shrek("verify", "--outputs", "sP22aa", cwd=demo.root).code == 0  # its own are fine
    found = open_catalog(Registry.open(copy)).files(EVENTS)
    assert all(Path(f.location).is_relative_to(copy) for f in found)


def test_a_damaged_upstream_output_is_refused_before_anything_is_journalled(
    demo: Registry, shrek
) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    _store_file(demo, 4).write_text("not what pass1 wrote\n")
    head = git(demo.root, "rev-parse", "HEAD")
    refused = shrek("submit", "sP22aa/demo-pass2", cwd=demo.root)
    assert refused.code == ExitCode.NO_UPSTREAM
    assert f"step demo-pass2 would read {EVENTS}, but 1 of its files are not as catalogued" in (
        refused.err
    )
    assert "verify --outputs" in refused.err
    assert git(demo.root, "rev-parse", "HEAD") == head


def test_the_store_never_overwrites_a_file(demo: Registry, shrek) -> None:
    stale = _store_file(demo, 2)
    stale.parent.mkdir(parents=True)
    stale.write_text("left in the store by someone else\n")
    result = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == ExitCode.BACKEND  # the job whose output would land there fails
    assert stale.read_text() == "left in the store by someone else\n"
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "partial" and record.data["jobs"]["failed"] == 1
    state = json.loads(
        (demo.state_dir / "runs" / record.data["ids"]["request"] / "state.json").read_text()
    )
    (job,) = [j for j in state["steps"]["demo-pass1"]["jobs"] if j["state"] == "failed"]
    assert "never overwritten" in job["attempts"][-1]["error"]
    assert [f.name for f in open_catalog(demo).files(EVENTS)] == [
        _store_file(demo, n).name for n in (1, 3, 4)
    ]


def test_placing_an_output_keeps_identical_content_and_refuses_other(tmp_path: Path) -> None:
    target = tmp_path / "store" / "out.txt"
    target.parent.mkdir()
    first = tmp_path / "a.txt"
    first.write_text("events\n")
    place(first, target)
    assert target.read_text() == "events\n" and not first.exists()
    again = tmp_path / "b.txt"
    again.write_text("events\n")  # collected again after an interruption: the same file
    place(again, target)
    assert not again.exists()
    other = tmp_path / "c.txt"
    other.write_text("different\n")
    with pytest.raises(FileExistsError, match="never overwritten"):
        place(other, target)
    assert target.read_text() == "events\n" and other.exists()
