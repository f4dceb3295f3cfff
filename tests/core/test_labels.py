"""Label parsing, ordering and allocation."""

from __future__ import annotations

import pytest

from shrek.core.labels import (
    MAX_SEQUENCE,
    Label,
    LabelError,
    next_label,
    parse_label,
    sequence_index,
    sequence_letters,
)
from shrek.errors import ExitCode, ShrekError


@pytest.mark.parametrize(
    ("text", "year", "sequence", "test"),
    [
        ("sP22a", 22, "a", False),
        ("sP22z", 22, "z", False),
        ("sP22aa", 22, "aa", False),
        ("sP09zz", 9, "zz", False),
        ("sP22Ta", 22, "a", True),
        ("sP22Tab", 22, "ab", True),
    ],
)
def test_parse(text: str, year: int, sequence: str, test: bool) -> None:
    label = parse_label(text, "sP")
    assert (label.year, label.sequence, label.test) == (year, sequence, test)
    assert str(label) == text


@pytest.mark.parametrize(
    "text",
    [
        "sP22",
        "sp22a",
        "sP2a",
        "sP22aaa",
        "sP22A",
        "sP22a-mdc2.7",
        "XX22a",
        "sP22Tz1",
        " sP22a",
        "sP222a",
    ],
)
def test_rejects_non_labels(text: str) -> None:
    with pytest.raises(LabelError, match="is not a label"):
        parse_label(text, "sP")


def test_sequence_order_is_a_to_z_then_aa_to_zz() -> None:
    order = [sequence_letters(i) for i in range(1, MAX_SEQUENCE + 1)]
    assert order[:3] == ["a", "b", "c"]
    assert order[25:28] == ["z", "aa", "ab"]
    assert order[-1] == "zz"
    assert len(set(order)) == MAX_SEQUENCE == 702
    assert all(sequence_index(s) == i for i, s in enumerate(order, start=1))


def test_labels_sort_by_allocation_order_not_alphabet() -> None:
    labels = [parse_label(t, "sP") for t in ["sP22aa", "sP22b", "sP21zz", "sP22z", "sP22a"]]
    assert [str(x) for x in sorted(labels, key=Label.sort_key)] == [
        "sP21zz",
        "sP22a",
        "sP22b",
        "sP22z",
        "sP22aa",
    ]


def test_next_label_continues_after_the_highest_and_never_fills_gaps() -> None:
    taken = [parse_label(t, "sP") for t in ["sP22a", "sP22c"]]
    assert str(next_label(taken, "sP", 22)) == "sP22d"
    assert str(next_label([parse_label("sP22z", "sP")], "sP", 22)) == "sP22aa"
    assert str(next_label([parse_label("sP22aa", "sP")], "sP", 22)) == "sP22ab"
    assert str(next_label(taken, "sP", 23)) == "sP23a"


def test_test_labels_have_their_own_sequence() -> None:
    taken = [parse_label(t, "sP") for t in ["sP22a", "sP22b", "sP22Ta"]]
    assert str(next_label(taken, "sP", 22, test=True)) == "sP22Tb"
    assert str(next_label(taken, "sP", 22)) == "sP22c"


def test_exhausted_year_is_a_clear_error() -> None:
    with pytest.raises(ShrekError, match="no label of year 22 is left to allocate") as caught:
        next_label([parse_label("sP22zz", "sP")], "sP", 22)
    assert caught.value.code == ExitCode.CONFLICT
    assert "701 label(s) of year 22 were skipped" in caught.value.fix
    assert "shrek tag new sP22a" in caught.value.fix


def test_other_prefix() -> None:
    assert str(parse_label("tst24b", "tst")) == "tst24b"
    with pytest.raises(LabelError):
        parse_label("sP24b", "tst")
