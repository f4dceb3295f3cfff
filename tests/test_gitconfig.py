"""The registry's git configuration, read by one ``git config`` (shrek/gitconfig.py) and by
:class:`shrek.git.GitRepo`: the same remote, the same clone identity, as git itself says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shrek import gitconfig
from shrek.git import GitRepo

# setup -> the git commands that make it, and the remote each branch is shared through
SETUPS: dict[str, tuple[list[list[str]], dict[str, str | None]]] = {
    "no remote": ([], {"main": None, "other": None}),
    "origin": (
        [["remote", "add", "origin", "https://example.invalid/r.git"]],
        {"main": "origin", "other": "origin"},
    ),
    "one other": (
        [["remote", "add", "team", "https://example.invalid/r.git"]],
        {"main": "team", "other": "team"},
    ),
    "two, no origin": (
        [
            ["remote", "add", "a", "https://example.invalid/a.git"],
            ["remote", "add", "b", "https://example.invalid/b.git"],
        ],
        {"main": None, "other": None},
    ),
    "upstream set": (
        [
            ["remote", "add", "origin", "https://example.invalid/o.git"],
            ["remote", "add", "team.bnl", "https://example.invalid/t.git"],
            ["config", "branch.main.remote", "team.bnl"],
            ["config", "branch.other.remote", "origin"],
        ],
        {"main": "team.bnl", "other": "origin"},
    ),
    "upstream gone": (
        [
            ["remote", "add", "team", "https://example.invalid/t.git"],
            ["config", "branch.main.remote", "gone"],
        ],
        {"main": "team", "other": "team"},
    ),
    "remote in an included file": (
        [
            ["config", "-f", ".git/team.inc", "remote.team.url", "https://example.invalid/t.git"],
            ["config", "include.path", "team.inc"],
        ],
        {"main": "team", "other": "team"},
    ),
}


def _repo(tmp_path: Path, commands: list[list[str]]) -> Path:
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    for command in commands:
        subprocess.run(["git", "-C", str(root), *command], check=True)
    return root


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_the_remote_of_a_branch(tmp_path: Path, setup: str) -> None:
    commands, expected = SETUPS[setup]
    root = _repo(tmp_path, commands)
    (root / "sub").mkdir()
    for branch, remote in expected.items():
        assert GitRepo(root / "sub").remote_for(branch) == remote, branch
        assert gitconfig.remote_for(str(root / "sub"), branch) == (True, remote), branch


def test_the_url_of_a_remote_is_the_one_git_fetches_from(tmp_path: Path) -> None:
    root = _repo(
        tmp_path,
        [
            ["remote", "add", "team", "https://example.invalid/t.git"],
            ["config", "url.https://mirror.invalid/.insteadOf", "https://example.invalid/"],
        ],
    )
    assert GitRepo(root).remote_url("team") == "https://mirror.invalid/t.git"
    assert GitRepo(root).remote_url("gone") is None


def test_outside_a_repository_git_cannot_answer(tmp_path: Path) -> None:
    assert gitconfig.remote_for(str(tmp_path), "main") == (False, None)
    assert gitconfig.clone_id(str(tmp_path)) == ""


def test_the_clone_id_is_made_once_and_kept_in_the_repository(tmp_path: Path) -> None:
    root = _repo(tmp_path, [])
    assert gitconfig.clone_id(str(root)) == ""  # none yet
    made = GitRepo(root).clone_id()
    assert gitconfig.clone_id(str(root)) == made and len(made) == 32
    assert GitRepo(root).clone_id() == made
    kept = subprocess.run(
        ["git", "-C", str(root), "config", "--local", "shrek.clone"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert kept.stdout.strip() == made
