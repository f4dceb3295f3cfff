"""The project repository is itself a registry; its example production must stay valid."""

from __future__ import annotations

from pathlib import Path

from shrek.core.registry import Registry
from shrek.core.validate import validate

PROJECT = Path(__file__).resolve().parent.parent


def test_the_example_registry_validates() -> None:
    registry = Registry.open(PROJECT)
    report = validate(registry)
    assert report.ok, "\n".join(map(str, report.findings))
    assert "sP22aa-mdc2.7" in report.checked


def test_the_example_production_matches_the_2022_campaign() -> None:
    from shrek.core.model import load_tag

    tag, findings = load_tag(Registry.open(PROJECT), "sP22aa-mdc2.7")
    assert tag is not None and not findings
    pass1, pass2 = tag.steps["hfprod-pass1"], tag.steps["hfprod-pass2"]
    assert pass1.parameters["nevents"] == 1 and pass1.parameters["runnumber"] == 1234567890
    assert "${SHREK_SEQ}" in pass1.payload  # the per-job sequence number seeds the RNG
    assert pass1.requirements == {
        "memory_mb": 2048,
        "walltime_h": 24,
        "cpu_time_per_event_s": 1200,
        "max_attempts": 1,
        "site": "BNL_OSG_SPHENIX",
    }
    primary, background = pass2.inputs
    assert primary.dataset == "hfprod-pass1.g4hits" and not primary.secondary
    assert background.secondary and background.files_per_job > 1
