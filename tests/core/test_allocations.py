"""The submission ledger read, checked and appended on its own: every problem a finding at its
line, every reuse of a submission, a sequence number or a dataset name named."""

from __future__ import annotations

from pathlib import Path

from shrek.core.allocations import (
    ALLOCATIONS_FILE,
    Allocation,
    append_allocations,
    check_allocations,
    next_first,
    next_number,
    overlapping,
    read_allocations,
)


def _ledger(root: Path, *lines: str) -> list[Allocation]:
    (root / ALLOCATIONS_FILE).write_text("# header\n\n" + "".join(f"{x}\n" for x in lines))
    allocations, findings = read_allocations(root)
    assert not findings, findings
    return allocations


def test_lines_round_trip_and_numbers_continue(tmp_path: Path) -> None:
    written = [
        Allocation("sP22a-b/gen/0001", False, 1, 10, ("prod.x.s0001",), "r1", "T1", "Jane <j@x>"),
        Allocation("sP22a-b/use/0001", False, 11, 20, ("prod.y.s0001", "prod.z.s0001"), "r2", "T2"),
        Allocation("sP22a-b/gen/0002", True, 1, 3, (), "r3", "T3", "Joe"),
    ]
    append_allocations(tmp_path, written[:1])
    append_allocations(tmp_path, written[1:])
    read, findings = read_allocations(tmp_path)
    assert not findings
    assert [(a.submission, a.test, a.first, a.last, a.outputs, a.run, a.by) for a in read] == [
        (a.submission, a.test, a.first, a.last, a.outputs, a.run, a.by) for a in written
    ]
    assert (tmp_path / ALLOCATIONS_FILE).read_text().startswith("# SHREK submission ledger")
    assert next_first(read, test=False) == 21 and next_first(read, test=True) == 4
    assert next_first([], test=False) == 1
    assert next_number(read, "sP22a-b", "gen") == 3 and next_number(read, "sP22a-b", "x") == 1
    assert overlapping(read, False, 20, 25) == read[1] and overlapping(read, False, 21, 25) is None
    assert not check_allocations(read)


def test_damaged_lines_are_findings_at_their_line(tmp_path: Path) -> None:
    (tmp_path / ALLOCATIONS_FILE).write_text(
        "# header\n"
        "sP22a-b/gen/0001  prod  1-10  -  r  T  J\n"
        "<<<<<<< HEAD\n"
        "gen/0001  prod  1-10  -  r  T  J\n"
        "sP22a-b/gen/0002  both  11-20  -  r  T  J\n"
        "sP22a-b/gen/0003  prod  30-20  -  r  T  J\n"
        "sP22a-b/gen/0004\n"
        f"sP22a-b/gen/0005  prod  1-{'9' * 5000}  -  r  T  J\n"  # int() refuses > 4,300 digits
        f"sP22a-b/gen/{'1' * 5000}  prod  40-50  -  r  T  J\n"
        "sP22a-b/gen/0006  prod  60-70  -  r  T  Eve\x00\n"  # git would call the file binary
    )
    allocations, findings = read_allocations(tmp_path)
    assert [a.submission for a in allocations] == ["sP22a-b/gen/0001"]
    assert sorted((f.line, f.message.split(" (")[0]) for f in findings) == [
        (3, "unresolved merge conflict in the submission ledger"),
        (4, "malformed ledger line"),
        (5, "malformed ledger line"),
        (6, "malformed ledger line"),
        (7, "malformed ledger line: 'sP22a-b/gen/0004'"),
        (8, "malformed ledger line"),
        (9, "malformed ledger line"),
        (10, "control character '\\x00' in the submission ledger"),
    ]
    assert all(f.file == ALLOCATIONS_FILE and f.fix for f in findings)


def test_every_reuse_is_named(tmp_path: Path) -> None:
    allocations = _ledger(
        tmp_path,
        "t-b/gen/0001  prod  1-100  prod.a  r  T  J",
        "t-b/gen/0002  prod  101-110  prod.b  r  T  J",
        "t-b/gen/0002  prod  111-120  prod.c  r  T  J",  # the submission again (two branches)
        "u-b/gen/0001  prod  50-60  prod.d  r  T  J",  # inside 1-100: the same seeds
        "u-b/use/0001  prod  121-130  prod.b  r  T  J",  # a dataset name again
        "u-b/use/0002  test  1-100  test.e  r  T  J",  # tests number apart: no finding
    )
    findings = check_allocations(allocations)
    assert sorted((f.line, f.message) for f in findings) == [
        (
            5,
            "submission t-b/gen/0002 allocated twice: by t-b/gen/0002 here and by "
            "t-b/gen/0002 on line 4",
        ),
        (
            6,
            "sequence numbers 50-60 allocated twice: by u-b/gen/0001 here and by t-b/gen/0001 "
            "on line 3",
        ),
        (7, "dataset prod.b allocated twice: by u-b/use/0001 here and by t-b/gen/0002 on line 4"),
    ]
