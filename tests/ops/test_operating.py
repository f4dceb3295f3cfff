"""Operating a production day to day: output globs that see only the payload's files, failure
summaries, a readable status, read-only checkouts and the small traps of issue 16."""

from __future__ import annotations

from shrek.catalogs.factory import open_catalog
from shrek.core.records import load_records
from shrek.core.registry import Registry
from tests.ops.conftest import DEMO_TAG as TAG
from tests.ops.conftest import edit_step


def test_common_output_globs_see_only_the_payloads_files(demo: Registry, shrek) -> None:
    edit_step(demo, "demo-pass1", 'files: "events_*.txt"', 'files: "*.txt"', refreeze=False)
    edit_step(
        demo,
        "demo-pass1",
        '    files: "*.txt"\n',
        '    files: "*.txt"\n  - name: log\n    files: "*.log"\n',
        refreeze=False,
    )
    edit_step(
        demo,
        "demo-pass1",
        "--out events_${SHREK_SEQ}.txt",
        "--out events_${SHREK_SEQ}.txt && echo ok > run.log",
    )
    result = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert result.code == 0, result.err + result.out
    (record,) = load_records(demo.tag_dir(TAG))
    assert record.state == "done"
    logs = open_catalog(demo).files(record.data["datasets"]["outputs"]["log"])
    assert len(logs) == 4 and all(f.name.endswith(".log") for f in logs)
