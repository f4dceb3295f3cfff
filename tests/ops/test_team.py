"""A registry a team shares through one remote (issue 25): the remote decides.

Real bare repositories over ``file://`` and a real ``git daemon`` on 127.0.0.1; every clone
runs the real ``shrek`` as its own process, as production managers on their own machines do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from shrek.core.allocations import check_allocations, read_allocations
from shrek.core.ledger import read_ledger
from shrek.errors import ExitCode
from shrek.ops.init import init_registry
from tests.conftest import git
from tests.gitserver import git_daemon

TAG = "sP22aa-local"
STEP = "gen"
ROUNDS = int(os.environ.get("SHREK_TEAM_ROUNDS", "50"))


def shrek(
    clone: Path, *args: str, check: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "shrek", *args],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    assert "Traceback" not in done.stderr, done.stderr
    if check:
        assert done.returncode == 0, done.stderr
    return done


def _origin(tmp_path: Path, url_of, exec_line: str = "echo event > out.txt") -> str:
    """A registry with one frozen generator tag, pushed to a new bare remote; its URL."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    first = init_registry(tmp_path / "first")
    url = url_of(bare)
    git(first, "remote", "add", "origin", url)
    git(first, "push", "-q", "-u", "origin", "main")
    shrek(first, "tag", "new", "--skip-to", "sP22aa", "--build", "local", check=True)
    job = first / "tags" / TAG / "job"
    (job / ".gitkeep").unlink()
    (job / f"{STEP}.yaml").write_text(
        yaml.safe_dump(
            {
                "name": STEP,
                "description": "a generator",
                "jobs": 1,
                "exec": exec_line,
                "outputs": [{"name": "events", "files": "out.txt"}],
            }
        )
    )
    git(first, "add", "-A")
    git(first, "commit", "-qm", "a generator step")
    shrek(first, "freeze", "sP22aa", check=True)
    git(first, "push", "-q", "origin", "main")
    return url


def _clone(tmp_path: Path, url: str, name: str) -> Path:
    path = tmp_path / name
    git(tmp_path, "clone", "-q", url, str(path))
    return path


@pytest.fixture
def remote(tmp_path: Path) -> str:
    return _origin(tmp_path, lambda bare: f"file://{bare}")


def test_a_clone_only_behind_is_refused_with_its_own_code(remote: str, tmp_path: Path) -> None:
    a, b = _clone(tmp_path, remote, "a"), _clone(tmp_path, remote, "b")
    shrek(a, "submit", f"sP22aa/{STEP}", check=True)
    git(b, "fetch", "-q")  # fetched, no local commits: only behind
    refused = shrek(b, "submit", f"sP22aa/{STEP}")
    assert refused.returncode == ExitCode.OUT_OF_DATE, refused.stderr
    assert "behind origin/main" in refused.stderr and "fix: git pull --ff-only" in refused.stderr
    git(b, "pull", "-q", "--ff-only")
    again = shrek(b, "submit", f"sP22aa/{STEP}", "--again", check=True)
    assert "#0002" in again.stdout
    _no_doubles(b)


def test_shrek_publishes_its_own_commits(remote: str, tmp_path: Path) -> None:
    """The next submit is never refused as 'not pushed' because of SHREK's own records; the
    remote holds every record and the journal each job names."""
    a = _clone(tmp_path, remote, "a")
    shrek(a, "submit", f"sP22aa/{STEP}", check=True)
    shrek(a, "submit", f"sP22aa/{STEP}", "--again", check=True)
    assert git(a, "rev-parse", "HEAD") == git(a, "rev-parse", "origin/main")
    assert git(a, "status", "--porcelain") == ""
    record = yaml.safe_load((a / "tags" / TAG / "submissions" / STEP / "0002.yaml").read_text())
    journal = record["submitted"]["journal_commit"]
    git(a, "merge-base", "--is-ancestor", journal, "origin/main")  # raises if not
    assert shrek(a, "verify").returncode == 0


def test_a_lost_race_is_planned_again_never_doubled(remote: str, tmp_path: Path) -> None:
    """Two clones both up to date submit at the same time: one journal reaches the remote
    first; the other is taken back, caught up and planned again from the winner's state."""
    a, b = _clone(tmp_path, remote, "a"), _clone(tmp_path, remote, "b")
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda c: _submit_until_done(c, again=False), [a, b]))
    assert all(done)
    for clone in (a, b):
        git(clone, "pull", "-q", "--ff-only")
    _no_doubles(a)
    numbers = sorted(p.name for p in (a / "tags" / TAG / "submissions" / STEP).glob("*.yaml"))
    assert numbers[:1] == ["0001.yaml"]


def test_status_on_a_feature_branch_commits_records_to_the_production_branch(
    remote: str, tmp_path: Path
) -> None:
    a = _clone(tmp_path, remote, "a")
    shrek(a, "submit", f"sP22aa/{STEP}", "--detach", check=True)
    git(a, "checkout", "-q", "-b", "feature")
    feature = git(a, "rev-parse", "HEAD")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shown = shrek(a, "status", "sP22aa", check=True)
        if " done " in shown.stdout:
            break
        time.sleep(0.3)
    assert " done " in shown.stdout, shown.stdout
    assert git(a, "rev-parse", "HEAD") == feature  # the user's branch did not move
    assert git(a, "status", "--porcelain") == ""  # nor did the user's files
    main = git(a, "show", f"main:tags/{TAG}/submissions/{STEP}/0001.yaml")
    assert "state: done" in main
    assert git(a, "rev-parse", "main") == git(a, "rev-parse", "origin/main")  # published


def test_labels_are_claimed_on_the_remote_even_from_a_feature_branch(
    remote: str, tmp_path: Path
) -> None:
    a, b = _clone(tmp_path, remote, "a"), _clone(tmp_path, remote, "b")
    git(a, "checkout", "-q", "-b", "new-tag")
    first = shrek(a, "tag", "new", "--year", "22", "--build", "local", check=True)
    second = shrek(b, "tag", "new", "--year", "22", "--build", "local", check=True)
    assert "sP22ab-local" in first.stdout and "sP22ac-local" in second.stdout
    claims = git(a, "ls-remote", "origin", "refs/shrek/labels/*")
    assert "refs/shrek/labels/sP22ab" in claims and "refs/shrek/labels/sP22ac" in claims
    taken = shrek(b, "tag", "new", "sP22ab", "--build", "local")
    assert taken.returncode == ExitCode.CONFLICT and "claimed on the remote" in taken.stderr


def test_a_double_from_before_is_found_and_voided(remote: str, tmp_path: Path) -> None:
    """A hand merge that kept both sides' ledger lines (issue 25, 4): verify exits non-zero
    and names the fix; void repairs it without rewriting history; production goes on."""
    a = _clone(tmp_path, remote, "a")
    shrek(a, "submit", f"sP22aa/{STEP}", check=True)
    ledger = a / "submissions.ledger"
    line = ledger.read_text().splitlines()[-1]
    forged = line.replace(f"{STEP}/0001", f"{STEP}/0002").replace("local-", "local-x")
    ledger.write_text(ledger.read_text() + forged + "\n")  # as a hand merge would leave it
    record = a / "tags" / TAG / "submissions" / STEP
    (record / "0002.yaml").write_text(
        (record / "0001.yaml")
        .read_text()
        .replace(f"{STEP}/0001", f"{STEP}/0002")
        .replace("number: 1", "number: 2")
    )
    git(a, "add", "-A")
    git(a, "commit", "-qm", "merge of two clones' submissions")
    git(a, "push", "-q")
    verified = shrek(a, "verify")
    assert verified.returncode != 0
    assert "allocated twice" in verified.stderr
    assert f"shrek void {TAG}/{STEP}/0002" in verified.stderr
    shrek(a, "void", f"{TAG}/{STEP}/0002", "--reason", "double from a hand merge", check=True)
    assert shrek(a, "verify").returncode == 0
    assert shrek(a, "validate").returncode == 0
    shrek(a, "submit", f"sP22aa/{STEP}", "--again", check=True)  # production goes on
    assert git(a, "rev-parse", "HEAD") == git(a, "rev-parse", "origin/main")


def test_a_rewritten_history_is_named_by_verify(tmp_path: Path) -> None:
    """A journal the production branch no longer reaches (issue 25, 5) is named with the file
    and the fix."""
    url = _origin(tmp_path, lambda bare: f"file://{bare}")
    a = _clone(tmp_path, url, "a")
    git(a, "remote", "remove", "origin")  # a clone without its remote: nothing published
    shrek(a, "submit", f"sP22aa/{STEP}", check=True)
    git(a, "reset", "-q", "--soft", "HEAD~3")
    git(a, "commit", "-qm", "squashed by hand")
    verified = shrek(a, "verify")
    assert verified.returncode != 0
    assert f"tags/{TAG}/submissions/{STEP}/0001.yaml" in verified.stderr
    assert "is not in the history of main" in verified.stderr and "git reflog" in verified.stderr


def test_upgrade_writes_the_merge_rule_and_claims_the_ledger(remote: str, tmp_path: Path) -> None:
    a = _clone(tmp_path, remote, "a")
    attributes = a / ".gitattributes"
    assert "labels.ledger merge=union" in attributes.read_text()  # init wrote it
    git(a, "rm", "-q", ".gitattributes")
    git(a, "commit", "-qm", "a registry from before")
    done = shrek(a, "upgrade", check=True)
    assert "merge line by line" in done.stdout and "claimed 0 label(s)" in done.stdout
    assert "submissions.ledger merge=union" in attributes.read_text()
    assert shrek(a, "upgrade", check=True).stdout.count("wrote") == 0  # twice: nothing


# -- racing clones -------------------------------------------------------------------------


def _submit_until_done(clone: Path, again: bool = True, tries: int = 40) -> bool:
    """What a production manager does: submit; if refused as behind, pull and submit again."""
    for _ in range(tries):
        args = ["submit", f"sP22aa/{STEP}", *(["--again"] if again else [])]
        done = shrek(clone, *args)
        if done.returncode == 0:
            return True
        if done.returncode == ExitCode.ALREADY and not again:
            return True  # the other clone made it: nothing to do
        assert done.returncode == ExitCode.OUT_OF_DATE, done.stderr
        git(clone, "pull", "-q", "--ff-only")
    return False


def _new_tag_until_done(clone: Path, tries: int = 40) -> str:
    for _ in range(tries):
        done = shrek(clone, "tag", "new", "--year", "23", "--build", "local")
        if done.returncode == 0:
            return done.stdout.split()[1]
        assert "Traceback" not in done.stderr
    raise AssertionError("tag new never succeeded")


def _no_doubles(clone: Path) -> None:
    allocations, problems = read_allocations(clone)
    assert not problems and not check_allocations(allocations)
    entries, _ = read_ledger(clone)
    assert len({e.label for e in entries}) == len(entries)


def _race(tmp_path: Path, url: str, clones: int, rounds: int) -> None:
    names = [f"clone{n}" for n in range(clones)]
    paths = [_clone(tmp_path, url, name) for name in names]

    def work(path: Path) -> tuple[int, list[str]]:
        labels = []
        submitted = 0
        for n in range(rounds):
            git(path, "checkout", "-q", "-b", f"new-tag-{n}", "main")  # a pull request's branch
            labels.append(_new_tag_until_done(path))
            git(path, "checkout", "-q", "main")
            submitted += _submit_until_done(path)
        return submitted, labels

    with ThreadPoolExecutor(clones) as pool:
        results = list(pool.map(work, paths))
    submitted = sum(r[0] for r in results)
    labels = [label for r in results for label in r[1]]
    assert submitted == clones * rounds
    assert not [label for label, n in Counter(labels).items() if n > 1]  # no label twice
    claims = git(paths[0], "ls-remote", "origin", "refs/shrek/labels/*").splitlines()
    assert len(claims) == clones * rounds + 1  # every one claimed (and sP22aa)
    for path in paths:
        git(path, "pull", "-q", "--ff-only")
        _no_doubles(path)
        records = list((path / "tags" / TAG / "submissions" / STEP).glob("*.yaml"))
        assert len(records) == clones * rounds  # no record lost
        verified = shrek(path, "verify")
        assert verified.returncode == 0, verified.stderr


def test_four_clones_race_over_a_file_remote(remote: str, tmp_path: Path) -> None:
    _race(tmp_path, remote, 4, ROUNDS)


@pytest.fixture
def daemon(tmp_path: Path):
    """A real ``git daemon`` on 127.0.0.1 serving (and accepting pushes to) tmp_path."""
    with git_daemon(tmp_path) as url:
        yield url


def test_four_clones_race_over_git_daemon(daemon: str, tmp_path: Path) -> None:
    url = _origin(tmp_path, lambda bare: f"{daemon}/{bare.name}")
    _race(tmp_path, url, 4, max(ROUNDS // 5, 5))


# -- faults between the remote and the backend ----------------------------------------------


def _shrek_faulted(clone: Path, point: str, *args: str) -> subprocess.CompletedProcess:
    return shrek(clone, *args, env={"SHREK_FAULT_POINT": point, "SHREK_FAULT_SIGNAL": "KILL"})


def test_a_clone_killed_between_its_push_and_its_hand_over(remote: str, tmp_path: Path) -> None:
    """The journal is on the remote, nothing was sent: the next command closes the record as
    abandoned (its numbers stay used), publishes it, and production goes on with new numbers."""
    a = _clone(tmp_path, remote, "a")
    killed = _shrek_faulted(a, "after-push", "submit", f"sP22aa/{STEP}")
    assert killed.returncode == -9
    on_remote = git(a, "show", f"origin/main:tags/{TAG}/submissions/{STEP}/0001.yaml")
    assert "state: submitting" in on_remote
    shrek(a, "status", check=True)
    assert "state: abandoned" in git(
        a, "show", f"origin/main:tags/{TAG}/submissions/{STEP}/0001.yaml"
    )
    again = shrek(a, "submit", f"sP22aa/{STEP}", "--again", check=True)
    assert "#0002" in again.stdout
    _no_doubles(a)
    assert shrek(a, "verify").returncode == 0


def test_a_push_that_never_happened_is_taken_back_when_the_remote_moved(
    remote: str, tmp_path: Path
) -> None:
    """Killed before its journal's push; meanwhile another clone took those numbers. The
    journal was never sent anywhere: it is taken back (never re-applied over the other's
    allocation), and the next submission plans from the remote."""
    a, b = _clone(tmp_path, remote, "a"), _clone(tmp_path, remote, "b")
    killed = _shrek_faulted(a, "before-push", "submit", f"sP22aa/{STEP}")
    assert killed.returncode == -9
    shrek(b, "submit", f"sP22aa/{STEP}", check=True)  # takes 0001 and its sequences
    status = shrek(a, "status")
    assert status.returncode == 0, status.stderr
    assert "took back an unpublished journal" in status.stderr
    git(a, "merge-base", "--is-ancestor", "main", "origin/main")  # nothing of a's left over
    git(a, "pull", "-q", "--ff-only")
    shrek(a, "submit", f"sP22aa/{STEP}", "--again", check=True)
    git(b, "pull", "-q", "--ff-only")
    _no_doubles(b)
    assert shrek(b, "verify").returncode == 0


def test_kill_on_a_feature_branch_records_on_the_production_branch(tmp_path: Path) -> None:
    url = _origin(tmp_path, lambda bare: f"file://{bare}", "sleep 60; echo event > out.txt")
    a = _clone(tmp_path, url, "a")
    shrek(a, "submit", f"sP22aa/{STEP}", "--detach", check=True)
    git(a, "checkout", "-q", "-b", "feature")
    feature = git(a, "rev-parse", "HEAD")
    shrek(a, "kill", "sP22aa", check=True)
    assert git(a, "rev-parse", "HEAD") == feature and git(a, "status", "--porcelain") == ""
    assert git(a, "log", "-1", "--format=%s", "main").startswith("shrek: kill")
    assert git(a, "rev-parse", "main") == git(a, "rev-parse", "origin/main")  # published
    record = git(a, "show", f"main:tags/{TAG}/submissions/{STEP}/0001.yaml")
    assert "state: killed" in record


def test_a_test_on_a_branch_older_than_the_journal_never_meets_production(
    remote: str, tmp_path: Path
) -> None:
    """Issue 25, 7: a --test on a branch that predates the journal used to get number 0001,
    collide with production 0001 in the local store and record its jobs as failed."""
    a = _clone(tmp_path, remote, "a")
    shrek(a, "submit", f"sP22aa/{STEP}", check=True)
    git(a, "checkout", "-q", "-b", "old", "HEAD~3")  # before the journal
    assert not (a / "tags" / TAG / "submissions").exists()
    test = shrek(a, "submit", f"sP22aa/{STEP}", "--test", check=True)
    assert "#0001" in test.stdout and "done" in test.stdout, test.stdout
    record = yaml.safe_load(
        (a / "tags" / TAG / "submissions" / STEP / "test-0001.yaml").read_text()
    )
    assert record["id"] == f"{TAG}/{STEP}/test-0001" and record["state"] == "done"
    assert record["jobs"]["failed"] == 0


def test_a_clone_never_judges_another_clones_local_run(tmp_path: Path) -> None:
    """A local run lives in the clone that started it: another clone that pulled its record
    while it ran leaves it as it is (it used to close it as failed, 'run directory gone'); the
    owner records the end, and the remote keeps the owner's word."""
    url = _origin(tmp_path, lambda bare: f"file://{bare}", "sleep 3; echo event > out.txt")
    a, b = _clone(tmp_path, url, "a"), _clone(tmp_path, url, "b")
    shrek(a, "submit", f"sP22aa/{STEP}", "--detach", check=True)
    git(b, "pull", "-q", "--ff-only")
    shown = shrek(b, "status", "sP22aa", check=True)
    assert "failed" not in shown.stdout and "abandoned" not in shown.stdout, shown.stdout
    deadline = time.monotonic() + 60
    while " done " not in shrek(a, "status", "sP22aa", check=True).stdout:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    git(b, "pull", "-q", "--ff-only")
    record = yaml.safe_load((b / "tags" / TAG / "submissions" / STEP / "0001.yaml").read_text())
    assert record["state"] == "done" and record["jobs"]["done"] == 1


def test_switching_branches_while_a_submission_runs(tmp_path: Path) -> None:
    """The user switches to a branch older than the journal while ``submit`` follows its jobs:
    the final states go to the production branch (and the remote), not the user's branch."""
    url = _origin(tmp_path, lambda bare: f"file://{bare}", "sleep 4; echo event > out.txt")
    a = _clone(tmp_path, url, "a")
    running = subprocess.Popen(
        [sys.executable, "-m", "shrek", "submit", f"sP22aa/{STEP}"],
        cwd=a,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not git(a, "log", "-1", "--format=%s", "main").startswith("shrek: submit "):
        assert time.monotonic() < deadline and running.poll() is None
        time.sleep(0.1)
    git(a, "checkout", "-q", "-b", "old", "main~2")  # before the journal
    old = git(a, "rev-parse", "HEAD")
    _out, err = running.communicate(timeout=120)
    assert running.returncode == 0, err
    assert git(a, "rev-parse", "HEAD") == old and git(a, "status", "--porcelain") == ""
    record = git(a, "show", f"main:tags/{TAG}/submissions/{STEP}/0001.yaml")
    assert "state: done" in record
    assert git(a, "rev-parse", "main") == git(a, "rev-parse", "origin/main")


def test_events_of_two_clones_are_both_kept(remote: str, tmp_path: Path) -> None:
    """Two clones invalidate at once: the one that publishes second re-applies its event on
    the remote's tip under the next free number; both events and both readers' READMEs stay."""
    a, b = _clone(tmp_path, remote, "a"), _clone(tmp_path, remote, "b")
    shrek(a, "submit", f"sP22aa/{STEP}", check=True)
    shrek(a, "submit", f"sP22aa/{STEP}", "--again", check=True)
    git(b, "pull", "-q", "--ff-only")
    shrek(a, "invalidate", f"sP22aa/{STEP}/0001", "--reason", "first", check=True)
    second = shrek(b, "invalidate", f"sP22aa/{STEP}/0002", "--reason", "second", check=True)
    assert "not published" not in second.stderr, second.stderr
    assert git(b, "rev-parse", "main") == git(b, "rev-parse", "origin/main")
    events = git(b, "ls-tree", "--name-only", f"origin/main:tags/{TAG}/lifecycle").split()
    assert events == ["0001.yaml", "0002.yaml"]
    reasons = [
        yaml.safe_load(git(b, "show", f"origin/main:tags/{TAG}/lifecycle/{e}"))["reason"]
        for e in events
    ]
    assert reasons == ["first", "second"]
    readme = git(b, "show", f"origin/main:tags/{TAG}/README.md")
    assert "**invalid**: first" in readme and "**invalid**: second" in readme, readme
    assert shrek(b, "verify").returncode == 0


def test_another_clones_local_run_is_killed_only_there(tmp_path: Path) -> None:
    url = _origin(tmp_path, lambda bare: f"file://{bare}", "sleep 60; echo event > out.txt")
    a, b = _clone(tmp_path, url, "a"), _clone(tmp_path, url, "b")
    shrek(a, "submit", f"sP22aa/{STEP}", "--detach", check=True)
    git(b, "pull", "-q", "--ff-only")
    refused = shrek(b, "kill", "sP22aa")
    assert refused.returncode == ExitCode.BACKEND
    assert "runs on the local backend of another clone" in refused.stderr
    assert "run 'shrek kill' in the clone that submitted it" in refused.stderr
    assert git(b, "status", "--porcelain") == "" and git(b, "rev-parse", "main") == git(
        b, "rev-parse", "origin/main"
    )
    shrek(a, "kill", "sP22aa", check=True)  # the owner can


def test_a_production_submit_off_the_branch_names_the_branch_not_the_remote(
    remote: str, tmp_path: Path
) -> None:
    """Off the production branch the refusal is the branch guard's, whatever the remote says."""
    a, b = _clone(tmp_path, remote, "a"), _clone(tmp_path, remote, "b")
    shrek(a, "submit", f"sP22aa/{STEP}", check=True)  # b's main is now behind
    git(b, "checkout", "-q", "-b", "feature")
    refused = shrek(b, "submit", f"sP22aa/{STEP}")
    assert refused.returncode == ExitCode.WRONG_BRANCH, refused.stderr
    assert "git switch main" in refused.stderr
