"""The compiled "certainly valid" predicate never accepts what jsonschema rejects.

``schema.check`` trusts :mod:`shrek.core.acceptor` to skip jsonschema for valid documents, so
a wrong "yes" would hide an error. These tests hold it to that: every SHREK schema compiles
(a fallback to jsonschema alone would be silent slowness), every real document is accepted
(else the fast path is useless), and on thousands of mutated documents — values of every
JSON type put anywhere, keys removed and added — a "yes" is never given where jsonschema
finds an error.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrek.core import schema
from shrek.core.acceptor import Unsupported, compile_schema
from tests.conftest import PROJECT

DATA = Path(__file__).parent / "data" / "acceptor"
KINDS = ("tag", "step", "freeze", "submission", "registry")


def seeds() -> list[tuple[str, Any]]:
    """Real documents of every kind: the example registry's files and a real freeze and
    submission record written by the demo production."""
    found: list[tuple[str, Any]] = [("registry", _load(PROJECT / "shrek.yaml"))]
    for path in sorted(PROJECT.glob("tags/*/tag.yaml")):
        found.append(("tag", _load(path)))
    for path in sorted(PROJECT.glob("tags/*/job/*.yaml")):
        found.append(("step", _load(path)))
    for path in sorted((PROJECT / "shrek" / "templates").glob("*/job/*.yaml")):
        found.append(("step", _load(path)))
    found.append(("freeze", _load(DATA / "freeze.yaml")))
    found.append(("submission", _load(DATA / "submission.yaml")))
    return found


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def jsonschema_accepts(kind: str, document: Any) -> bool:
    return not any(True for _ in schema.validator(kind).iter_errors(document))


@pytest.mark.parametrize("kind", KINDS)
def test_every_schema_compiles(kind: str) -> None:
    assert schema.acceptor(kind) is not None


def test_unknown_keywords_make_a_schema_uncompilable() -> None:
    with pytest.raises(Unsupported):
        compile_schema({"type": "object", "if": {"required": ["a"]}})
    with pytest.raises(Unsupported):
        compile_schema({"$ref": "other.json#/x"})
    with pytest.raises(Unsupported):
        compile_schema({"oneOf": [{"type": "string"}, {"type": "integer"}]})


def test_every_real_document_is_accepted() -> None:
    for kind, document in seeds():
        assert jsonschema_accepts(kind, document), kind
        assert schema.acceptor(kind)(document), (kind, document)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(jobs=4.0),  # a float is not an integer
        lambda d: d.update(jobs=True),  # nor is a bool
        lambda d: d.update(jobs=0),  # below the minimum
        lambda d: d.update(command="echo"),  # both command and exec
        lambda d: d.pop("exec"),  # neither
        lambda d: d.update(colour="green"),  # an unknown key
        lambda d: d.update(parameters={"1bad": 1}),  # a parameter name that is no name
        lambda d: d.update(name="Upper"),  # pattern
        lambda d: d.update(description=""),  # minLength
        lambda d: d["outputs"].append(copy.deepcopy(d["outputs"][0])),  # fine or not: agree
    ],
)
def test_known_mistakes_are_never_accepted(edit) -> None:
    document = {
        "name": "gen",
        "description": "d",
        "jobs": 2,
        "exec": "true",
        "outputs": [{"name": "o", "files": "o.txt"}],
    }
    edit(document)
    accepted = schema.acceptor("step")(document)
    assert not accepted or jsonschema_accepts("step", document)


# -- generated mutations -----------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "a", "sP22aa", "x" * 64, "ab" * 40, "0" * 64, "local", "done"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _parent(document: Any, path: tuple) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    kind, seed = draw(st.sampled_from(seeds()))
    document = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(document)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "remove", "add", "duplicate"]))
        if not path:
            if action == "replace":
                document = draw(JSON_VALUES)
            continue
        parent = _parent(document, path)
        if action == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "remove":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(JSON_VALUES)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
    return kind, document


@settings(
    max_examples=int(os.environ.get("SHREK_HYPOTHESIS_EXAMPLES", "60")) * 10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated())
def test_a_yes_is_never_wrong(case: tuple[str, Any]) -> None:
    kind, document = case
    if schema.acceptor(kind)(document):
        assert jsonschema_accepts(kind, document), (kind, document)
