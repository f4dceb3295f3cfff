"""The one door to git (shrek/git.py): what it answers about a repository, as git itself
does, and how it reports git's refusals."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    for key, value in (("NAME", "Tester"), ("EMAIL", "tester@example.invalid")):
        monkeypatch.setenv(f"GIT_AUTHOR_{key}", value)
        monkeypatch.setenv(f"GIT_COMMITTER_{key}", value)
    return GitRepo.init(tmp_path / "made" / "here")


def test_outside_a_repository_is_said_with_the_fix(tmp_path: Path) -> None:
    for where in (tmp_path, tmp_path / "missing" / "dir"):
        with pytest.raises(ShrekError) as raised:
            GitRepo(where)
        assert raised.value.code == ExitCode.GIT
        assert raised.value.message == f"{where} is not inside a git repository"
        assert "git init" in raised.value.fix


def test_init_makes_the_directory_and_a_main_branch(repo: GitRepo, tmp_path: Path) -> None:
    assert repo.root == (tmp_path / "made" / "here").resolve()
    assert repo.branch() == "main"
    assert repo.head() == "" and not repo.has_commits()  # before the first commit
    (repo.root / "sub").mkdir()
    (repo.root / "sub" / "file.txt").write_text("")
    for inside in ("sub", "sub/file.txt", "sub/not/made/yet.txt"):
        assert GitRepo(repo.root / inside).root == repo.root, inside


def test_a_commit_holds_exactly_the_paths_given(repo: GitRepo) -> None:
    (repo.root / "mine.txt").write_text("mine\n")
    (repo.root / "theirs.txt").write_text("staged by the user\n")
    _git(repo.root, "add", "theirs.txt")
    sha = repo.commit([repo.root / "mine.txt"], "shrek: mine", publish=True)
    assert sha == _git(repo.root, "rev-parse", "HEAD") == repo.head()
    assert _git(repo.root, "show", "--name-only", "--format=", sha) == "mine.txt"
    assert _git(repo.root, "diff", "--cached", "--name-only") == "theirs.txt"  # still staged
    assert repo.message(sha) == "shrek: mine\n\nShrek-Publish: yes\n"
    assert repo.file_at("HEAD", repo.root / "mine.txt") == "mine"  # git's text, one newline less
    assert repo.file_at("HEAD", repo.root / "theirs.txt") is None


def test_a_detached_head_has_no_branch(repo: GitRepo) -> None:
    (repo.root / "a.txt").write_text("a\n")
    sha = repo.commit([repo.root / "a.txt"], "a")
    _git(repo.root, "checkout", "-q", "--detach", sha)
    assert repo.branch() is None and repo.head() == sha


def test_a_lock_left_behind_is_named_with_its_fix(repo: GitRepo) -> None:
    (repo.root / "a.txt").write_text("a\n")
    lock = repo.root / ".git" / "index.lock"
    lock.write_text("")
    with pytest.raises(ShrekError) as raised:
        repo.commit([repo.root / "a.txt"], "a")
    assert raised.value.code == ExitCode.GIT
    assert f"{lock} exists" in raised.value.message
    assert raised.value.fix.startswith(
        f"if no git command is running in this repository, remove it: rm '{lock}'"
    )
    assert _git(repo.root, "status", "--porcelain") == "?? a.txt"  # nothing left staged


def test_the_identity_git_would_commit_with(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    assert repo.user() == "Tester <tester@example.invalid>"
    repo.check_identity()


def test_a_commit_takes_new_changed_and_deleted_files_and_new_files_inside_a_directory(
    repo: GitRepo,
) -> None:
    root = repo.root
    for name in ("kept.txt", "changed.txt", "gone.txt"):
        (root / name).write_text(f"{name}\n")
    repo.commit([root / n for n in ("kept.txt", "changed.txt", "gone.txt")], "first")
    (root / "changed.txt").write_text("changed\n")
    (root / "gone.txt").unlink()
    sha = repo.commit([root / "changed.txt", root / "gone.txt"], "tracked only")  # one process
    assert _git(root, "show", "--name-status", "--format=", sha).split("\n") == [
        "M\tchanged.txt",
        "D\tgone.txt",
    ]
    (root / "changed.txt").write_text("again\n")
    (root / "new.txt").write_text("new\n")
    sha = repo.commit([root / "changed.txt", root / "new.txt"], "tracked and new")
    assert _git(root, "show", "--name-status", "--format=", sha).split("\n") == [
        "M\tchanged.txt",
        "A\tnew.txt",
    ]
    (root / "changed.txt").write_text("told\n")
    (root / "told.txt").write_text("told\n")
    sha = repo.commit([root / "changed.txt", root / "told.txt"], "told it is new", new=True)
    assert _git(root, "show", "--name-status", "--format=", sha).split("\n") == [
        "M\tchanged.txt",
        "A\ttold.txt",
    ]
    (root / "dir").mkdir()
    (root / "dir" / "inside.txt").write_text("inside\n")
    sha = repo.commit([root / "dir"], "a directory")
    assert _git(root, "show", "--name-status", "--format=", sha) == "A\tdir/inside.txt"
    assert _git(root, "status", "--porcelain") == ""


def test_head_is_git_s_answer_whatever_keeps_the_ref(repo: GitRepo, tmp_path: Path) -> None:
    (repo.root / "a.txt").write_text("a\n")
    sha = repo.commit([repo.root / "a.txt"], "a")
    assert repo.head() == sha  # a loose ref
    _git(repo.root, "pack-refs", "--all")
    assert not (repo.root / ".git" / "refs" / "heads" / "main").exists()
    assert GitRepo(repo.root).head() == sha  # packed: git is asked
    linked = tmp_path / "linked"
    _git(repo.root, "worktree", "add", "--quiet", "--detach", str(linked), sha)
    assert GitRepo(linked).head() == sha and GitRepo(linked).root == linked.resolve()


def test_the_branch_is_git_s_answer_wherever_head_is_kept(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo.root / "a.txt").write_text("a\n")
    repo.commit([repo.root / "a.txt"], "a")
    _git(repo.root, "checkout", "-q", "-b", "team/prod")
    assert GitRepo(repo.root).branch() == "team/prod"  # read from .git/HEAD
    linked = tmp_path / "linked"
    _git(repo.root, "worktree", "add", "--quiet", "-b", "other", str(linked))
    assert GitRepo(linked).branch() == "other"  # .git is a file there: git is asked
    monkeypatch.setenv("GIT_DIR", str(repo.root / ".git"))
    assert GitRepo(repo.root).branch() == "team/prod"  # git told where to look: git is asked
    _git(repo.root, "checkout", "-q", "--detach")
    assert GitRepo(repo.root).branch() is None


def test_a_damaged_git_link_is_named_as_git_names_it(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("gitdir: /nonexistent/elsewhere\n")
    with pytest.raises(ShrekError) as raised:
        GitRepo(tmp_path)
    assert raised.value.code == ExitCode.GIT
    assert "is not inside a git repository (fatal: not a git repository" in raised.value.message
    assert "/nonexistent/elsewhere" in raised.value.message


def test_an_unknown_identity_is_refused_with_its_fix(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("NAME", "EMAIL"):
        monkeypatch.delenv(f"GIT_AUTHOR_{key}")
        monkeypatch.delenv(f"GIT_COMMITTER_{key}")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    _git(repo.root, "config", "user.useConfigOnly", "true")
    with pytest.raises(ShrekError) as raised:
        GitRepo(repo.root).check_identity()
    assert raised.value.message == "git does not know who you are, so SHREK cannot commit"
    assert "git config --global user.email" in raised.value.fix
