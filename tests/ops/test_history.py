"""The append-only files against git history: ``verify`` and ``review --base`` name a deleted or
edited ledger line and a record edited after it was written; a production's normal life (submit,
status, retry, again, test) is never reported."""

from __future__ import annotations

import json

import yaml

from shrek.core.registry import Registry
from shrek.errors import ExitCode
from tests.conftest import git
from tests.ops.conftest import DEMO_TAG as TAG

RECORD = f"tags/{TAG}/submissions/demo-pass1/0001.yaml"


def test_a_production_life_is_never_reported(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa", cwd=demo.root).code == 0
    assert shrek("submit", "sP22aa/demo-pass1", "--again", cwd=demo.root).code == 0
    assert shrek("submit", "sP22aa/demo-pass1", "--test", "--again", cwd=demo.root).code == 0
    assert shrek("status", cwd=demo.root).code == 0
    result = shrek("verify", "--json", cwd=demo.root)
    assert result.code == 0, result.err
    (report,) = json.loads(result.out)
    assert report["ok"] and report["history"] == []


def test_verify_names_a_deleted_ledger_line_of_a_deleted_tag(demo: Registry, shrek) -> None:
    git(demo.root, "rm", "-rq", f"tags/{TAG}")
    ledger = demo.root / "labels.ledger"
    ledger.write_text("".join(ledger.read_text().splitlines(keepends=True)[:-1]))
    git(demo.root, "commit", "-qam", "as if sP22aa had never been")
    assert shrek("validate", cwd=demo.root).code == 0  # one checkout cannot tell
    result = shrek("verify", cwd=demo.root)
    assert result.code == ExitCode.INVALID
    assert f"{TAG}: 1 append-only record(s) or ledger line(s) changed" in result.err
    assert f"labels.ledger:6:1: error: the label line 'sP22aa {TAG}" in result.err
    assert "git show " in result.err and ":labels.ledger" in result.err


def test_verify_names_a_record_edited_after_it_was_written(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    record = demo.root / RECORD
    data = yaml.safe_load(record.read_text())
    data["state"] = "failed"  # by hand: no history entry
    data["commands"]["exec"] = "bash demo-pass1.sh %RNDM:100"
    record.write_text(yaml.safe_dump(data, sort_keys=False))
    git(demo.root, "commit", "-qam", "tidy a record")
    result = shrek("verify", "sP22aa", cwd=demo.root)
    assert result.code == ExitCode.INVALID
    assert f"{RECORD}: error: 'commands' was changed after it was written (committed in" in (
        result.err
    )
    assert "its state 'failed' is not the last state of its history ('done')" in result.err
    assert f"-- {RECORD}); records are written by SHREK only" in result.err


def test_review_names_what_a_pull_request_changed_in_a_record(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    git(demo.root, "branch", "base")
    git(demo.root, "checkout", "-qb", "pr")
    record = demo.root / RECORD
    data = yaml.safe_load(record.read_text())
    data["history"] = data["history"][1:]
    record.write_text(yaml.safe_dump(data, sort_keys=False))
    git(demo.root, "commit", "-qam", "shorter history")
    result = shrek("review", "--base", "base", cwd=demo.root)
    assert result.code == ExitCode.INVALID
    assert f"{RECORD}: error: its history was rewritten (it may only grow)" in result.err


def test_a_label_whose_ledger_line_was_deleted_is_not_allocated_again(
    registry: Registry, shrek
) -> None:
    first = shrek("tag", "new", "--year", "22", "--build", "local", cwd=registry.root)
    assert first.code == 0 and "sP22a-local" in first.out
    git(registry.root, "rm", "-rq", "tags/sP22a-local")
    ledger = registry.root / "labels.ledger"
    ledger.write_text("".join(ledger.read_text().splitlines(keepends=True)[:-1]))
    git(registry.root, "commit", "-qam", "as if sP22a had never been")
    again = shrek("tag", "new", "--year", "22", "--build", "local", cwd=registry.root)
    assert again.code == 0 and "sP22b-local" in again.out
    claimed = shrek("tag", "new", "sP22a", "--build", "local", cwd=registry.root)
    assert claimed.code == ExitCode.CONFLICT and "already allocated to sP22a-local" in claimed.err


def test_verify_names_a_deleted_freeze_of_a_submitted_tag(demo: Registry, shrek) -> None:
    """The tag silently became a draft, and verify said nothing (issue 26)."""
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    git(demo.root, "rm", "-q", f"tags/{TAG}/freeze.yaml")
    git(demo.root, "commit", "-qm", "unfreeze")
    result = shrek("verify", cwd=demo.root)
    assert result.code == ExitCode.INVALID, result.err
    assert f"tags/{TAG}/freeze.yaml: error: freeze.yaml is missing, but the tag was submitted" in (
        result.err
    )


def test_verify_names_a_forged_frozen_by(demo: Registry, shrek) -> None:
    freeze = demo.root / "tags" / TAG / "freeze.yaml"
    data = yaml.safe_load(freeze.read_text())
    by = data["frozen"]["by"]
    assert shrek("verify", cwd=demo.root).code == 0
    freeze.write_text(freeze.read_text().replace(by, "Production Manager <pm@sphenix.example>"))
    git(demo.root, "commit", "-qam", "who froze it")
    result = shrek("verify", cwd=demo.root)
    assert result.code == ExitCode.INVALID, result.err
    assert "frozen.by says 'Production Manager <pm@sphenix.example>', but freeze.yaml was" in (
        result.err
    )
    assert "not by 'shrek freeze': edited by hand" in result.err


def test_verify_names_a_reordered_ledger(demo: Registry, shrek) -> None:
    assert shrek("tag", "new", "sP22ab", "--from", "sP22aa", cwd=demo.root).code == 0
    ledger = demo.root / "labels.ledger"
    lines = ledger.read_text().splitlines(keepends=True)
    lines[-2], lines[-1] = lines[-1], lines[-2]
    ledger.write_text("".join(lines))
    git(demo.root, "commit", "-qam", "sort the ledger")
    assert shrek("validate", cwd=demo.root).code == 0  # one checkout cannot tell
    result = shrek("verify", cwd=demo.root)
    assert result.code == ExitCode.INVALID, result.err
    assert "labels.ledger:6:1: error: the line 'sP22ab sP22ab-local" in result.err
    assert "was moved: it came later when committed in" in result.err


def test_verify_names_jobs_done_raised_by_hand(demo: Registry, shrek) -> None:
    """Every other rule holds (fixed fields, history): only the commit shows it (issue 26)."""
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    record = demo.root / RECORD
    record.write_text(record.read_text().replace("  done: 4\n", "  done: 40\n"))
    git(demo.root, "commit", "-qam", "more events")
    result = shrek("verify", cwd=demo.root)
    assert result.code == ExitCode.INVALID, result.err
    assert f"{RECORD}: error: the record was changed by commit " in result.err
    assert "('more events'), which SHREK did not make" in result.err
