"""Git faults end in one message with its fix and leave nothing half-done: a left-over
``index.lock``, a hook that refuses SHREK's commit, a record left uncommitted."""

from __future__ import annotations

from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode
from tests.conftest import git
from tests.ops.conftest import DEMO_TAG as TAG


def test_a_left_over_index_lock_is_named_with_its_fix(registry: Registry, shrek) -> None:
    lock = registry.root / ".git" / "index.lock"
    lock.touch()
    result = shrek("tag", "new", "--year", "22", "--build", "local", cwd=registry.root)
    assert result.code == ExitCode.GIT and "Traceback" not in result.err
    assert "index.lock exists" in result.err and f"rm '{lock}'" in result.err
    assert git(registry.root, "status", "--porcelain") == ""  # nothing left behind
    lock.unlink()
    assert shrek("tag", "new", "--year", "22", "--build", "local", cwd=registry.root).code == 0


def test_a_refused_final_commit_says_not_to_resubmit_and_status_commits_it(
    demo: Registry, shrek
) -> None:
    hook = demo.root / ".git" / "hooks" / "commit-msg"
    hook.write_text('#!/bin/sh\ngrep -q "^shrek: submit " "$1" && exit 1\nexit 0\n')
    hook.chmod(0o755)
    result = shrek("submit", "sP22aa/demo-pass1", "--detach", cwd=demo.root)
    assert result.code == ExitCode.GIT and "Traceback" not in result.err
    assert "accepted the submission" in result.err and "do not submit again" in result.err
    assert "shrek status sP22aa-local" in result.err
    assert git(demo.root, "status", "--porcelain", "--", "tags")  # written, not committed
    hook.unlink()
    assert shrek("status", "sP22aa", cwd=demo.root).code == 0
    assert git(demo.root, "status", "--porcelain", "--", "tags") == ""
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state != "submitting"  # the backend has it: never abandoned


def test_status_commits_a_record_that_was_left_out_of_git(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    path = f"tags/{TAG}/submissions/demo-pass1/0001.yaml"
    git(demo.root, "rm", "-q", "--cached", path)
    git(demo.root, "commit", "-qm", "lose the record from git")
    result = shrek("status", "sP22aa", cwd=demo.root)
    assert result.code == 0
    assert git(demo.root, "status", "--porcelain") == ""
    message = git(demo.root, "log", "-1", "--format=%s")
    assert message == "shrek: status sP22aa-local: recorded demo-pass1 #0001 done"


# -- production work happens on the production branch ------------------------------------------


def test_production_submissions_come_from_the_production_branch(demo: Registry, shrek) -> None:
    assert "production_branch: main" in (demo.root / "shrek.yaml").read_text()
    git(demo.root, "checkout", "-qb", "feature")
    refused = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert refused.code == ExitCode.WRONG_BRANCH
    assert "on branch 'feature'" in refused.err and "git switch main" in refused.err
    assert not (demo.tag_dir(TAG) / "submissions").exists()
    head = git(demo.root, "rev-parse", "HEAD")
    git(demo.root, "checkout", "-q", "--detach", head)
    detached = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert detached.code == ExitCode.WRONG_BRANCH and "detached HEAD" in detached.err
    git(demo.root, "checkout", "-q", "feature")
    test = shrek("submit", "sP22aa/demo-pass1", "--test", cwd=demo.root)
    assert test.code == 0, test.err
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.test and any(g.startswith("branch:") for g in record.data["overridden_guards"])


def test_a_tag_is_never_allocated_on_a_detached_head(registry: Registry, shrek) -> None:
    head = git(registry.root, "rev-parse", "HEAD")
    git(registry.root, "checkout", "-q", "--detach", head)
    result = shrek("tag", "new", "--year", "22", "--build", "local", cwd=registry.root)
    assert result.code == ExitCode.GIT and "HEAD is detached" in result.err
    assert git(registry.root, "status", "--porcelain") == ""


def test_a_refused_journal_commit_sends_nothing_and_status_closes_it(demo: Registry, shrek) -> None:
    hook = demo.root / ".git" / "hooks" / "commit-msg"
    hook.write_text('#!/bin/sh\ngrep -q "^shrek: journal " "$1" && exit 1\nexit 0\n')
    hook.chmod(0o755)
    result = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == ExitCode.GIT and "Traceback" not in result.err
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "submitting"  # written, not committed, not sent
    assert not (demo.state_dir / "runs" / record.data["ids"]["request"] / "state.json").exists()
    hook.unlink()
    assert shrek("status", "sP22aa", cwd=demo.root).code == 0
    assert git(demo.root, "status", "--porcelain") == ""  # the record and the ledger line
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "abandoned"
    again = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert again.code == 0, again.err
    numbers = [
        (r.number, r.data["sequences"]["demo-pass1"]) for r in load_records(demo.tag_dir(TAG))
    ]
    assert numbers == [(1, {"first": 1, "last": 4}), (2, {"first": 5, "last": 8})]
