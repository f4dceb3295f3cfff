"""Numbers are registry-wide and append-only: submission numbers, sequence ranges and output
dataset names come from the committed ``submissions.ledger``; reuse is refused, damage is
named, and two clones that both submitted meet as a git merge conflict."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from shrek.catalogs.factory import open_catalog
from shrek.core.allocations import ALLOCATIONS_FILE, read_allocations
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.tag import TagRequest, new_tag
from tests.conftest import git
from tests.ops.conftest import BACKGROUND
from tests.ops.conftest import DEMO_TAG as TAG

RECORD = f"tags/{TAG}/submissions/demo-pass1/0001.yaml"


def _ranges(registry: Registry) -> list[tuple[str, bool, int, int]]:
    allocations, findings = read_allocations(registry.root)
    assert not findings
    return [(a.submission, a.test, a.first, a.last) for a in allocations]


def _second_tag(registry: Registry) -> str:
    new_tag(registry, TagRequest(label="sP22ab", build="local", template="demo"))
    freeze(registry, "sP22ab-local")
    return "sP22ab-local"


def test_no_two_jobs_of_the_registry_share_a_seed(demo: Registry, shrek) -> None:
    other = _second_tag(demo)
    assert shrek("submit", "sP22aa", cwd=demo.root).code == 0
    assert shrek("submit", "sP22ab/demo-pass1", cwd=demo.root).code == 0
    test = shrek("submit", "sP22ab/demo-pass1", "--test", "--again", cwd=demo.root)
    assert test.code == 0, test.err
    assert shrek("submit", "sP22aa/demo-pass1", "--again", cwd=demo.root).code == 0
    assert _ranges(demo) == [
        (f"{TAG}/demo-pass1/0001", False, 1, 4),
        (f"{TAG}/demo-pass2/0001", False, 5, 8),
        (f"{other}/demo-pass1/0001", False, 9, 12),
        (f"{TAG}/demo-pass1/0002", False, 13, 16),
    ]  # the test is not in the ledger: it numbers apart, in its tag's test records
    (test_record,) = [r for r in load_records(demo.tag_dir(other)) if r.test]
    # test and production records never share a file name (nor an id): the first test is 1
    assert test_record.path.name == "test-0001.yaml"
    assert test_record.data["id"] == f"{other}/demo-pass1/test-0001"
    assert test_record.number == 1 and test_record.data["sequences"]["demo-pass1"] == {
        "first": 1,
        "last": 4,
    }
    seeds = [
        re.search(r"%RNDM:\d+", record.data["commands"]["exec"]).group()
        for name in (TAG, other)
        for record in load_records(demo.tag_dir(name))
        if not record.test
    ]
    assert seeds == ["%RNDM:0", "%RNDM:12", "%RNDM:4", "%RNDM:8"]  # the wrapper adds one
    assert git(demo.root, "status", "--porcelain") == ""  # the ledger is committed


def test_a_chosen_first_number_may_not_reuse_another_tags(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    _second_tag(demo)
    head = git(demo.root, "rev-parse", "HEAD")
    refused = shrek("submit", "sP22ab/demo-pass1", "--first-sequence", "3", cwd=demo.root)
    assert refused.code == ExitCode.CONFLICT
    assert f"{TAG}/demo-pass1/0001 was given 1-4 ({ALLOCATIONS_FILE} line" in refused.err
    assert "choose a first number above 4" in refused.err
    assert git(demo.root, "rev-parse", "HEAD") == head  # nothing journalled
    chosen = shrek("submit", "sP22ab/demo-pass1", "--first-sequence", "100", cwd=demo.root)
    assert chosen.code == 0, chosen.err
    assert _ranges(demo)[-1][2:] == (100, 103)


def test_an_output_dataset_that_exists_is_refused_before_anything_runs(
    demo: Registry, shrek, tmp_path: Path
) -> None:
    stale = tmp_path / "events_1.txt"
    stale.write_text("made by hand\n")
    add_files(open_catalog(demo), f"prod.{TAG}.demo-pass1.events.s0001", [stale])
    head = git(demo.root, "rev-parse", "HEAD")
    refused = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert refused.code == ExitCode.CONFLICT
    assert "the catalogue already holds it" in refused.err and "never overwritten" in refused.err
    assert git(demo.root, "rev-parse", "HEAD") == head
    assert not (demo.tag_dir(TAG) / "submissions").exists()
    assert not (demo.state_dir / "runs").exists() or not any((demo.state_dir / "runs").iterdir())


def test_a_deleted_record_is_named_and_nothing_is_submitted_over_it(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    git(demo.root, "rm", "-q", RECORD)
    git(demo.root, "commit", "-qm", "lose a record")
    result = shrek("validate", cwd=demo.root)
    assert result.code == ExitCode.INVALID
    assert f"{ALLOCATIONS_FILE}:7:1: error: {TAG}/demo-pass1/0001 is allocated here" in result.err
    assert f"its record {RECORD} is missing" in result.err
    again = shrek("submit", "sP22aa/demo-pass1", "--again", cwd=demo.root)
    assert again.code == ExitCode.NOT_VALID
    git(demo.root, "checkout", "HEAD~1", "--", RECORD)
    git(demo.root, "commit", "-qm", "restore the record")
    assert shrek("validate", cwd=demo.root).code == 0


def test_edited_records_and_ledger_lines_are_named(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    record = demo.root / RECORD
    original = record.read_text()
    data = yaml.safe_load(original)
    data["sequences"]["demo-pass1"]["last"] = 2  # so that --again would reuse 3 and 4
    record.write_text(yaml.safe_dump(data))
    edited = shrek("validate", cwd=demo.root)
    assert edited.code == ExitCode.INVALID
    assert f"{RECORD}: error: the record differs from its line in {ALLOCATIONS_FILE}:7" in (
        edited.err
    )
    assert "sequences 1-2 (the ledger: 1-4)" in edited.err
    record.write_text(original)
    ledger = demo.root / ALLOCATIONS_FILE
    lines = ledger.read_text().splitlines(keepends=True)
    ledger.write_text("".join(lines[:-1]))
    dropped = shrek("validate", cwd=demo.root)
    assert dropped.code == ExitCode.INVALID
    assert f"{TAG}/demo-pass1/0001 is not in {ALLOCATIONS_FILE}" in dropped.err
    ledger.write_text("".join(lines))
    assert shrek("validate", cwd=demo.root).code == 0


def test_a_clone_behind_its_remote_is_refused_instead_of_reusing_numbers(
    demo: Registry, shrek, tmp_path: Path
) -> None:
    """Two clones that both submitted used to meet as a merge conflict (issue 25, 3): now the
    clone that has not seen the other's submission is refused before it allocates anything."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(demo.root), str(clone))
    background = sorted((tmp_path / "background").iterdir())  # the catalogue is per machine
    add_files(open_catalog(Registry.open(clone)), BACKGROUND, background)
    assert shrek("submit", "sP22aa/demo-pass1", "--detach", cwd=demo.root).code == 0
    refused = shrek("submit", "sP22aa/demo-pass1", "--detach", cwd=clone)
    assert refused.code == ExitCode.OUT_OF_DATE
    assert "behind origin/main" in refused.err and "git pull --ff-only origin main" in refused.err
    assert git(clone, "status", "--porcelain") == ""  # nothing allocated, nothing written


def test_a_registry_from_before_the_ledger_gets_one_from_its_records(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    git(demo.root, "rm", "-q", ALLOCATIONS_FILE)
    git(demo.root, "commit", "-qm", "as made by an earlier SHREK")
    assert shrek("validate", cwd=demo.root).code == 0
    assert shrek("submit", "sP22aa/demo-pass1", "--again", cwd=demo.root).code == 0
    assert _ranges(demo) == [
        (f"{TAG}/demo-pass1/0001", False, 1, 4),
        (f"{TAG}/demo-pass1/0002", False, 5, 8),
    ]
    assert git(demo.root, "status", "--porcelain") == ""


def test_a_damaged_local_catalogue_is_one_message_with_the_way_out(demo: Registry, shrek) -> None:
    catalogue = demo.state_dir / "catalog.sqlite"
    assert catalogue.exists()
    catalogue.write_bytes(b"this is not a database" * 100)
    result = shrek("dataset", "list", cwd=demo.root)
    assert result.code == ExitCode.FILESYSTEM and "Traceback" not in result.err
    assert f"the local catalogue {catalogue} is damaged" in result.err
    assert f"mv '{catalogue}' '{catalogue}.damaged'" in result.err


def test_a_submitted_tag_is_not_frozen_afresh_with_other_content(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    tag_dir = demo.tag_dir(TAG)
    git(demo.root, "rm", "-q", f"tags/{TAG}/freeze.yaml")
    step = tag_dir / "job" / "demo-pass1.yaml"
    step.write_text(step.read_text().replace("nevents: 50", "nevents: 60"))
    git(demo.root, "commit", "-qam", "unfreeze and change a submitted tag")
    refused = shrek("freeze", "sP22aa", cwd=demo.root)
    assert refused.code == ExitCode.CONFLICT
    assert "demo-pass1 #0001 was submitted with freeze digest sha256:" in refused.err
    assert "git checkout HEAD -- tags/sP22aa-local/freeze.yaml" in refused.err
    assert not (tag_dir / "freeze.yaml").exists()


def test_tag_new_refuses_a_ledger_that_validation_reports(registry: Registry, shrek) -> None:
    ledger = registry.root / "labels.ledger"
    ledger.write_text(
        ledger.read_text()
        + "sP22a  sP22a-local  2026-01-01T00:00:00Z  A\n"
        + "sP22a  sP22a-mdc2.7  2026-01-01T00:00:01Z  B\n"
    )
    git(registry.root, "commit", "-qam", "a merge that kept both sides")
    head = git(registry.root, "rev-parse", "HEAD")
    result = shrek("tag", "new", "--year", "22", "--build", "local", cwd=registry.root)
    assert result.code == ExitCode.INVALID
    assert "label sP22a is allocated twice" in result.err
    assert git(registry.root, "rev-parse", "HEAD") == head


def test_a_test_on_a_feature_branch_never_conflicts_with_production(demo: Registry, shrek) -> None:
    git(demo.root, "checkout", "-qb", "feature")
    first = shrek("submit", "sP22aa/demo-pass1", "--test", cwd=demo.root)
    assert first.code == 0, first.err
    second = shrek("submit", "sP22aa/demo-pass1", "--test", "--again", cwd=demo.root)
    assert second.code == 0, second.err
    tests = [r.data["sequences"]["demo-pass1"] for r in load_records(demo.tag_dir(TAG))]
    assert tests == [{"first": 1, "last": 4}, {"first": 5, "last": 8}]  # apart from each other
    git(demo.root, "checkout", "-q", "main")
    _second_tag(demo)
    assert shrek("submit", "sP22ab/demo-pass1", cwd=demo.root).code == 0  # production meanwhile
    merged = subprocess.run(
        ["git", "merge", "-q", "--no-edit", "feature"], cwd=demo.root, capture_output=True
    )
    assert merged.returncode == 0, merged.stderr  # no ledger line of the tests to conflict
    assert shrek("validate", cwd=demo.root).code == 0


def test_a_record_known_to_agree_is_compared_again_when_anything_it_agreed_with_changes(
    demo: Registry, shrek
) -> None:
    """Records that agreed with the ledger are not read again (``.shrek/cache/allocations.json``)
    while their content and their ledger line stay the same; any change is seen."""
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    assert shrek("validate", cwd=demo.root).code == 0
    agreed = json.loads((demo.state_dir / "cache" / "allocations.json").read_text())["agreed"]
    assert any(key.startswith(f"{RECORD} ") for key in agreed)

    ledger = demo.root / ALLOCATIONS_FILE
    lines = ledger.read_text()
    ledger.write_text(lines.replace("  1-4  ", "  1-5  "))  # the line moves, the record stays
    moved = shrek("validate", cwd=demo.root)
    assert moved.code == ExitCode.INVALID
    assert "sequences 1-4 (the ledger: 1-5)" in moved.err
    ledger.write_text(lines)
    assert shrek("validate", cwd=demo.root).code == 0

    record = demo.root / RECORD
    original = record.read_bytes()
    stamp = record.stat()
    record.write_bytes(original.replace(b"last: 4", b"last: 3"))  # same size, time put back
    os.utime(record, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    edited = shrek("validate", cwd=demo.root)
    assert edited.code == ExitCode.INVALID and "sequences 1-3 (the ledger: 1-4)" in edited.err
    record.write_bytes(original)

    copy = record.with_name("0002.yaml")  # the same content at another place
    shutil.copy2(record, copy)
    copied = shrek("validate", cwd=demo.root)
    assert copied.code == ExitCode.INVALID
    assert f"the record says it is {TAG}/demo-pass1/0001" in copied.err
    copy.unlink()
    assert shrek("validate", cwd=demo.root).code == 0


def test_what_another_shrek_found_to_agree_is_checked_again(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    assert shrek("validate", cwd=demo.root).code == 0
    cache = demo.state_dir / "cache" / "allocations.json"
    kept = json.loads(cache.read_text())
    record = demo.root / RECORD
    record.write_text(record.read_text().replace("last: 4", "last: 2"))
    digest = hashlib.sha256(record.read_bytes()).hexdigest()
    entry = next(v for k, v in kept["agreed"].items() if k.startswith(f"{RECORD} "))
    kept["agreed"][f"{RECORD} {digest}"] = entry  # as if it had agreed, under other code
    kept["seed"] = "another SHREK " + kept["seed"]
    cache.write_text(json.dumps(kept))
    result = shrek("validate", cwd=demo.root)
    assert result.code == ExitCode.INVALID and "sequences 1-2 (the ledger: 1-4)" in result.err
