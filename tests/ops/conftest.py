"""Fixtures of the operations' tests: the demo production, ready to submit."""

from __future__ import annotations

from pathlib import Path

import pytest

from shrek.catalogs.factory import open_catalog
from shrek.core.registry import Registry
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.tag import new_tag

DEMO_TAG = "sP22aa-local"
BACKGROUND = "demo.minbias.background"


@pytest.fixture
def demo(registry: Registry, tmp_path: Path) -> Registry:
    """The demo template tag with its background registered, frozen and committed."""
    new_tag(registry, label="sP22aa", build="local", template="demo")
    background = tmp_path / "background"
    background.mkdir()
    for n in range(1, 4):
        (background / f"mb_{n}.txt").write_text(f"# background {n}\nminbias {n} 0 0 0\n")
    add_files(open_catalog(registry), BACKGROUND, sorted(background.iterdir()))
    freeze(registry, DEMO_TAG)
    return registry
