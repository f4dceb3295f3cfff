"""Git configuration read without GitPython (shrek/gitconfig.py) answers as GitPython does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shrek import gitconfig
from shrek.git import GitRepo

SETUPS = {
    "no remote": [],
    "origin": [["remote", "add", "origin", "https://example.invalid/r.git"]],
    "one other": [["remote", "add", "team", "https://example.invalid/r.git"]],
    "two, no origin": [
        ["remote", "add", "a", "https://example.invalid/a.git"],
        ["remote", "add", "b", "https://example.invalid/b.git"],
    ],
    "upstream set": [
        ["remote", "add", "origin", "https://example.invalid/o.git"],
        ["remote", "add", "team.bnl", "https://example.invalid/t.git"],
        ["config", "branch.main.remote", "team.bnl"],
        ["config", "branch.other.remote", "origin"],
    ],
    "upstream gone": [
        ["remote", "add", "team", "https://example.invalid/t.git"],
        ["config", "branch.main.remote", "gone"],
    ],
}


def _repo(tmp_path: Path, commands: list[list[str]]) -> Path:
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    for command in commands:
        subprocess.run(["git", "-C", str(root), *command], check=True)
    return root


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_the_remote_of_a_branch_is_the_one_gitpython_finds(tmp_path: Path, setup: str) -> None:
    root = _repo(tmp_path, SETUPS[setup])
    (root / "sub").mkdir()
    for branch in ("main", "other"):
        expected = GitRepo(root).remote_for(branch)
        assert gitconfig.remote_for(str(root / "sub"), branch) == (True, expected), branch


def test_outside_a_repository_git_cannot_answer(tmp_path: Path) -> None:
    assert gitconfig.remote_for(str(tmp_path), "main") == (False, None)
    assert gitconfig.clone_id(str(tmp_path)) == ""


def test_the_clone_id_is_the_one_gitpython_made(tmp_path: Path) -> None:
    root = _repo(tmp_path, [])
    assert gitconfig.clone_id(str(root)) == ""  # none yet
    made = GitRepo(root).clone_id()
    assert gitconfig.clone_id(str(root)) == made and len(made) == 32
