"""Fixtures and checks shared by the core's tests: a tag of two steps with known line numbers,
and the assertion every broken-input case makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from shrek.core.registry import Registry
from shrek.core.validate import validate
from shrek.ops.tag import TagRequest, new_tag


def assert_reported(
    registry: Registry, location: str, message: str, *, prefix: bool = False
) -> None:
    """Validation fails with ``message`` at ``location`` (``file:line:column``, or its start
    with ``prefix``), and every finding of the run says how to fix it."""
    report = validate(Registry.open(registry.root))
    assert not report.ok
    located = [
        f
        for f in report.findings
        if (f.location.startswith(location) if prefix else f.location == location)
    ]
    assert located, f"nothing at {location}; got:\n" + "\n".join(map(str, report.findings))
    assert any(message in f.message for f in located), "\n".join(map(str, located))
    assert all(f.fix for f in report.findings), "every finding says how to fix it"


TAG = "tags/sP22aa-mdc2.7"
GEN = """\
name: gen
description: generate events
parameters:
  nevents: 10
jobs: 2
outputs:
  - name: events
    files: "*.root"
resources:
  - bin/run.sh
exec: bash bin/run.sh ${nevents} ${SHREK_SEQ}
"""
USE = """\
name: use
description: use the events
inputs:
  - dataset: gen.events
    files_per_job: 2
outputs:
  - name: merged
    files: "m_*.root"
command: |
  for f in "${IN1[@]}"; do
    echo "$f"
  done
"""
TAG_YAML = """\
label: sP22aa
build: mdc2.7
title: test production
description: a tag for tests
owner: Test Manager
code:
  - name: macros
    url: https://example.invalid/macros.git
    ref: main
"""


@pytest.fixture
def tag_dir(registry: Registry) -> Path:
    created = new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="mdc2.7"))
    directory = created.directory
    (directory / "job" / ".gitkeep").unlink()
    (directory / "job" / "gen.yaml").write_text(GEN)
    (directory / "job" / "use.yaml").write_text(USE)
    (directory / "tag.yaml").write_text(TAG_YAML)
    (directory / "bin").mkdir()
    (directory / "bin" / "run.sh").write_text("echo run\n")
    return directory
