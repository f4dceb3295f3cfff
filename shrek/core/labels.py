"""Production labels: parsing, ordering and allocation (``sP22a`` ... ``sP22z``, ``sP22aa`` ...).

A label is the registry's prefix, a two-digit year and a sequence of one or two lower-case
letters. Test labels live in their own space, marked by a capital ``T`` before the sequence
(``sP22Ta``), so a test can never take a production name. Allocation continues after the
highest label ever allocated for the year: gaps are never filled and nothing is reused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Label:
    prefix: str
    year: int
    sequence: str
    test: bool = False

    def __str__(self) -> str:
        mark = TEST_MARK if self.test else ""
        return f"{self.prefix}{self.year:02d}{mark}{self.sequence}"

    @property
    def index(self) -> int:
        return sequence_index(self.sequence)

    @property
    def space(self) -> tuple[str, int, bool]:
        """Labels in one space are allocated from one sequence."""
        return (self.prefix, self.year, self.test)

    def sort_key(self) -> tuple[str, int, bool, int]:
        return (self.prefix, self.year, self.test, self.index)


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
    highest = max((label.index for label in taken if label.space == space), default=0)
    if highest >= MAX_SEQUENCE:
        last = Label(prefix, year, sequence_letters(MAX_SEQUENCE), test)
        raise ShrekError(
            f"all labels for year {year:02d} are taken (the last one was {last})",
            "allocate in another year with --year",
            ExitCode.CONFLICT,
        )
    return Label(prefix, year, sequence_letters(highest + 1), test)
