"""Production labels: parsing, ordering and allocation (``sP22a`` ... ``sP22z``, ``sP22aa`` ...).

A label is the registry's prefix, a two-digit year and a sequence of one or two lower-case
letters. Test labels live in their own space, marked by a capital ``T`` before the sequence
(``sP22Ta``), so a test can never take a production name. Allocation continues after the
highest label ever allocated for the year: gaps are never filled and nothing is reused. A label
claimed by hand that would skip unused labels needs ``--skip-to`` (the skipped ones are never
allocated by 'next free' again, though each can still be claimed by name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from shrek.errors import ExitCode, ShrekError

TEST_MARK = "T"
MAX_SEQUENCE = 26 + 26 * 26  # a..z, then aa..zz
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class LabelError(ValueError):
    """A string that is not a label of this registry; the message says why."""


def sequence_index(sequence: str) -> int:
    """``a`` -> 1, ``z`` -> 26, ``aa`` -> 27, ``zz`` -> 702: the order of allocation."""
    if len(sequence) == 1:
        return _LETTERS.index(sequence) + 1
    return 26 + _LETTERS.index(sequence[0]) * 26 + _LETTERS.index(sequence[1]) + 1


def sequence_letters(index: int) -> str:
    """The inverse of :func:`sequence_index`."""
    if not 1 <= index <= MAX_SEQUENCE:
        raise ValueError(f"sequence index {index} outside 1..{MAX_SEQUENCE}")
    if index <= 26:
        return _LETTERS[index - 1]
    first, second = divmod(index - 27, 26)
    return _LETTERS[first] + _LETTERS[second]


class Label(NamedTuple):
    prefix: str
    year: int
    sequence: str
    test: bool = False

    def __str__(self) -> str:
        mark = TEST_MARK if self.test else ""
        return f"{self.prefix}{self.year:02d}{mark}{self.sequence}"

    @property
    def number(self) -> int:
        """Its place in its space's sequence (aa is 27)."""
        return sequence_index(self.sequence)

    @property
    def space(self) -> tuple[str, int, bool]:
        """Labels in one space are allocated from one sequence."""
        return (self.prefix, self.year, self.test)

    def sort_key(self) -> tuple[str, int, bool, int]:
        return (self.prefix, self.year, self.test, self.number)


def parse_label(text: str, prefix: str) -> Label:
    """Parse ``text`` as a label of a registry whose labels start with ``prefix``."""
    match = re.fullmatch(rf"({re.escape(prefix)})(\d\d)({TEST_MARK}?)([a-z]{{1,2}})", text)
    if not match:
        raise LabelError(
            f"'{text}' is not a label: labels are '{prefix}', a two-digit year and one or two "
            f"lower-case letters (e.g. {prefix}22a, {prefix}22aa; test labels {prefix}22Ta)"
        )
    return Label(match.group(1), int(match.group(2)), match.group(4), bool(match.group(3)))


def next_label(taken: Iterable[Label], prefix: str, year: int, *, test: bool = False) -> Label:
    """The label after the highest one ever taken in this year's (test or production) space."""
    if not 0 <= year <= 99:
        raise ShrekError(
            f"year {year} is not a two-digit year",
            "give the year as two digits, e.g. --year 22",
            ExitCode.USAGE,
        )
    space = (prefix, year, test)
    used = {label.number for label in taken if label.space == space}
    highest = max(used, default=0)
    if highest >= MAX_SEQUENCE:
        last = Label(prefix, year, sequence_letters(MAX_SEQUENCE), test)
        never = [i for i in range(1, MAX_SEQUENCE + 1) if i not in used]
        if never:
            first = Label(prefix, year, sequence_letters(never[0]), test)
            raise ShrekError(
                f"no label of year {year:02d} is left to allocate: 'next free' continues after "
                f"the highest label ever allocated, and {last} is allocated",
                f"{len(never)} label(s) of year {year:02d} were skipped and never allocated; claim "
                f"one by name: shrek tag new {first}",
                ExitCode.CONFLICT,
            )
        raise ShrekError(
            f"all {MAX_SEQUENCE} labels of year {year:02d} are allocated (the last one was {last})",
            "a label names its production's year, so another year's would misname it, and "
            "labels are never reused: a new label prefix in shrek.yaml starts a new label space "
            "(a decision for the collaboration)",
            ExitCode.CONFLICT,
        )
    return Label(prefix, year, sequence_letters(highest + 1), test)


def skipped_by(taken: Iterable[Label], label: Label) -> list[Label]:
    """The labels of ``label``'s space that claiming it would skip for good: those between
    the highest label ever allocated and it ('next free' never goes back to fill them)."""
    highest = max((t.number for t in taken if t.space == label.space), default=0)
    return [
        Label(label.prefix, label.year, sequence_letters(i), label.test)
        for i in range(highest + 1, label.number)
    ]
