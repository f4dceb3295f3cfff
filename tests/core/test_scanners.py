"""The shell-variable scanner and the resource resolver used by validation."""

from __future__ import annotations

import os
from pathlib import Path

from shrek.core.bashvars import assigned_variables, used_variables
from shrek.core.resources import expand


def test_used_variables_follow_quoting_and_comments() -> None:
    script = (
        "# a comment mentioning $notused\n"
        "out=\"G4_${type}_${SHREK_SEQ}.root\"; echo '$literal' \\$escaped\n"
        'for f in "${IN2[@]}"; do echo "$f ${#IN1[@]} ${nevent:-3}"; done\n'
        "awk '{print $NF}' x; echo $1 $? $(date) $$\n"
    )
    assert used_variables(script) == ["type", "SHREK_SEQ", "IN2", "f", "IN1", "nevent"]


def test_assignments_loops_and_reads_define_variables() -> None:
    script = (
        "out=1; export A=2; local b=3; declare -a arr=(); x+=y; arr[0]=1\n"
        "for f in a b; do :; done\nread -r c d <<< '1 2'; mapfile -t lines < f\n"
        "root.exe --opt=value\n"
    )
    assert assigned_variables(script) == {"out", "A", "b", "arr", "x", "f", "c", "d", "lines"}


def test_expand_files_directories_and_globs(tmp_path: Path) -> None:
    (tmp_path / "macros" / "sub").mkdir(parents=True)
    for name in ["macros/a.C", "macros/b.C", "macros/sub/c.C", "macros/.rootrc", "run.sh"]:
        (tmp_path / name).write_text(name)
    names = lambda pattern: [f.name for f in expand(tmp_path, pattern)[0]]  # noqa: E731
    assert names("run.sh") == ["run.sh"]
    assert names("macros") == ["macros/.rootrc", "macros/a.C", "macros/b.C", "macros/sub/c.C"]
    assert names("macros/*.C") == ["macros/a.C", "macros/b.C"]
    assert names("macros/**/*.C") == ["macros/a.C", "macros/b.C", "macros/sub/c.C"]
    assert names("./macros/../run.sh") == ["run.sh"]


def test_expand_refuses_escapes(tmp_path: Path) -> None:
    tag = tmp_path / "tag"
    tag.mkdir()
    (tmp_path / "outside.txt").write_text("x")
    os.symlink(tmp_path / "outside.txt", tag / "link.txt")
    os.symlink(tmp_path, tag / "linkdir")
    for pattern, message in [
        ("../outside.txt", "leaves the tag directory"),
        ("/etc/passwd", "is an absolute path"),
        ("~/x", "is an absolute path"),
        ("link.txt", "symlink leading outside"),
        ("linkdir/outside.txt", "symlink leading outside"),
        ("*.txt", "symlink leading outside"),
        ("freeze.yaml", "names a file SHREK manages"),
        ("missing.txt", "does not exist"),
    ]:
        files, problem = expand(tag, pattern)
        assert files == [] and problem is not None and message in problem.message, pattern
