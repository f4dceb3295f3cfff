"""The step graph on the model, tested directly (no command line, no git)."""

from __future__ import annotations

import pytest

from shrek.core.model import Tag, load_tag
from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError
from tests.conftest import write_step


def _tag(registry: Registry) -> Tag:
    tag, findings = load_tag(registry, "sP22aa-local")
    assert tag is not None, findings
    return tag


def _chain(registry: Registry, edges: dict[str, list[str]]) -> Tag:
    """Steps named by ``edges``, each reading the ``out`` output of the steps listed."""
    for name, parents in edges.items():
        inputs = [{"dataset": f"{p}.out", "files_per_job": 1} for p in parents]
        fields = {"inputs": inputs} if inputs else {"jobs": 1}
        write_step(
            registry,
            name,
            exec="touch o.dat",
            outputs=[{"name": "out", "files": "o.dat"}],
            **fields,
        )
    return _tag(registry)


def test_order_puts_producers_first_and_breaks_ties_by_name(runnable: Registry) -> None:
    # z and a are both ready first; a goes first, and b (ready once a is done) before z
    tag = _chain(runnable, {"z": [], "a": [], "b": ["a"], "c": ["b", "z"]})
    assert tag.order() == ["a", "b", "z", "c"]
    assert tag.dependencies() == {"b": {"a"}, "c": {"b", "z"}}


def test_producer_and_external_inputs(runnable: Registry) -> None:
    tag = _chain(runnable, {"gen": []})
    write_step(
        runnable,
        "use",
        inputs=[
            {"dataset": "gen.out", "files_per_job": 1},
            {"dataset": "mdc2.background", "files_per_job": 2, "secondary": True},
        ],
        exec="touch o.dat",
        outputs=[{"name": "out", "files": "o.dat"}],
    )
    tag = _tag(runnable)
    first, second = tag.steps["use"].inputs
    assert tag.producer(first) == ("gen", "out")
    assert tag.producer(second) is None
    assert tag.external_inputs() == ["mdc2.background"]


def test_every_cycle_is_found_once_and_order_refuses_them(runnable: Registry) -> None:
    tag = _chain(runnable, {"a": ["b"], "b": ["a"], "c": ["c"], "d": []})
    assert tag.cycles() == [["a", "b", "a"], ["c", "c"]]
    with pytest.raises(ShrekError) as refused:
        tag.order()
    assert refused.value.code == ExitCode.INVALID and "form a cycle" in refused.value.message


def test_a_tag_without_steps_has_an_empty_graph(runnable: Registry) -> None:
    tag = _tag(runnable)
    assert (tag.order(), tag.cycles(), tag.external_inputs()) == ([], [], [])
