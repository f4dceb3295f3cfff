"""The plain constructor of shrek/core/yamlio.py builds what PyYAML's builds, or steps aside.

For every document it accepts, the data (types included), the rewritten numbers it notes and
the verdict on the keys are PyYAML's constructor's and ``_keys_are_plain``'s; whatever it does
not know (aliases, explicit tags, merge keys, repeated or non-string keys) it refuses, and
``parse_yaml`` then asks PyYAML as before.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from shrek.core.yamlio import Loader, _construct_plain, _keys_are_plain, _Unusual, parse_yaml

SETTINGS = settings(max_examples=int(os.environ.get("SHREK_HYPOTHESIS_EXAMPLES", "200")))

# scalars written plain: strings YAML 1.1 or 1.2 may read as something else, and others
WORDS = st.sampled_from(
    ["0", "012", "0x1F", "0o17", "1.50", "1e3", ".inf", "-.Inf", ".nan", "True", "false",
     "FALSE", "yes", "no", "~", "null", "", "<<", "=", "a: b", "- x", "#", "'", '"', "1:20",
     "2026-01-01", "!!str", "&a", "*a", "[x]", "{}", "é", "a\nb"]
)  # fmt: skip
SCALARS = st.one_of(
    WORDS,
    st.text(max_size=12),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
KEYS = st.one_of(WORDS, st.text(max_size=8))
TREES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)
# hand-written fragments: what a person (or a hostile file) writes that PyYAML's dumper never
FRAGMENTS = st.lists(
    st.sampled_from(
        ["a: 1", "a: 2", "b: 012", "c: 0x1F", "d: True", "e: !!str 12", "f: !!int '7'",
         "g: !!binary aGVsbG8=", "h: !!set {x, y}", "i: 2026-01-01", "j: !!timestamp 2026-01-01",
         "<<: {k: 1}", "m: &x [1, 2]", "n: *x", "1: one", "? [p]\n: q", "r:", "s: ~", "t: -.INF",
         "u: {v: [w, {x: 1.50}]}", "y: !custom z", "null: 0", "true: 1"]
    ),
    max_size=8,
).map("\n".join)  # fmt: skip


def typed(data: Any) -> Any:
    """The data with every value's type beside it (1, 1.0 and True compare equal in Python)."""
    if isinstance(data, dict):
        return ("dict", [(typed(key), typed(value)) for key, value in data.items()])
    if isinstance(data, list):
        return ("list", [typed(item) for item in data])
    return (type(data).__name__, repr(data))


def _compare(text: str) -> bool:
    """Whether the plain constructor took ``text``; asserts that it built PyYAML's data."""
    try:
        reference = Loader(text)
        node = reference.get_single_node()
    except yaml.YAMLError:
        return False
    if node is None:
        return False
    try:
        expected = reference.construct_document(node)
    except (yaml.YAMLError, ValueError):
        expected = None
        refused = True
    else:
        refused = False
    plain = Loader(text)
    try:
        data = _construct_plain(plain, plain.get_single_node())
    except _Unusual:
        return False
    assert not refused, text
    assert typed(data) == typed(expected), text
    assert sorted(plain.rewritten) == sorted(reference.rewritten), text
    assert _keys_are_plain(node), text
    return True


@SETTINGS
@given(tree=TREES, flow=st.sampled_from([False, True, None]))
def test_whatever_pyyaml_writes_is_built_the_same(tree: Any, flow: bool | None) -> None:
    _compare(yaml.safe_dump(tree, default_flow_style=flow, allow_unicode=True))


@SETTINGS
@given(text=FRAGMENTS)
def test_hand_written_documents_are_built_the_same_or_refused(text: str) -> None:
    _compare(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x [1]\nb: *x\n",  # one node reached twice: the same list in PyYAML
        "a: !!binary aGVsbG8=\n",
        "a: !!set {x}\n",
        "<<: {k: 1}\n",
        "a: 1\na: 2\n",  # a repeated key: the position map names it
        "1: one\n",
        "? [p]\n: q\n",
        "a: !custom z\n",
    ],
)
def test_what_is_not_plain_is_refused_and_left_to_pyyaml(text: str) -> None:
    assert not _compare(text)
    document, findings = parse_yaml(text, "x.yaml")  # as before: PyYAML's answer
    if document is not None:
        assert typed(document.data) == typed(yaml.load(text, Loader=Loader)) or findings


def test_rewritten_numbers_are_noted_once() -> None:
    document, findings = parse_yaml("a: 012\nb: [True, 1.50]\n", "x.yaml")
    assert document is not None and document.data == {"a": 12, "b": [True, 1.5]}
    assert [f.line for f in findings] == [1, 2, 2]
    _, again = parse_yaml("a: 012\nb: *x\nc: &x 1\n", "x.yaml")  # refused, then PyYAML's
    assert len([f for f in again if "012" in f.message]) <= 1


@SETTINGS
@given(value=st.one_of(WORDS, st.text(max_size=12)))
def test_scalars_resolve_to_pyyamls_tags(value: str) -> None:
    """The loader's own ``resolve`` (no path resolvers to walk) gives the tag PyYAML's gives."""
    loader = Loader("")
    for kind in (ScalarNode, SequenceNode, MappingNode):
        for implicit in ((True, False), (False, True), (False, False)):
            expected = BaseResolver.resolve(loader, kind, value, implicit)
            assert loader.resolve(kind, value, implicit) == expected, (kind, value, implicit)
