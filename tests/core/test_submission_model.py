"""The typed record model says what the schema says: the same fields, the same required ones.

mypy checks every key the code reads against :mod:`shrek.core.submission`; this test keeps
that declaration and ``schemas/submission.schema.json`` from drifting apart."""

from __future__ import annotations

import json
from typing import Any, get_type_hints

import pytest

from shrek.core import submission
from tests.conftest import PROJECT

SCHEMA = json.loads((PROJECT / "schemas" / "submission.schema.json").read_text())


def _keys(model: Any) -> tuple[set[str], set[str]]:
    return set(get_type_hints(model)), set(model.__required_keys__)


@pytest.mark.parametrize(
    ("model", "path"),
    [
        (submission.SubmissionData, ()),
        (submission.BackendInfo, ("backend",)),
        (submission.Submitted, ("submitted",)),
        (submission.RecordDatasets, ("datasets",)),
        (submission.JobCounts, ("jobs",)),
        (submission.HistoryEntry, ("history", "items")),
        (submission.FailureEntry, ("failures", "items")),
        (submission.ProbeResult, ("probe",)),
        (submission.SequenceRange, ("sequences", "additionalProperties")),
    ],
)
def test_the_model_has_the_schemas_fields(model: Any, path: tuple[str, ...]) -> None:
    node = SCHEMA
    for key in path:
        node = node["properties"][key] if key in node.get("properties", {}) else node[key]
    fields, required = _keys(model)
    assert fields == set(node["properties"]), model.__name__
    assert required == set(node.get("required", [])), model.__name__


def test_a_failure_group_is_written_as_the_model_says() -> None:
    from shrek.core.failures import JobFailure, group

    written = group([JobFailure(7, 1, 1, ["boom"], "log")])[0].as_dict()
    assert set(written) == set(get_type_hints(submission.FailureEntry))
