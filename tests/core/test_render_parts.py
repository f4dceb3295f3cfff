"""The core's part of a rendering: step selection, wrappers, the sealed manifest."""

from __future__ import annotations

import pytest
import yaml

from shrek.core.model import load_tag
from shrek.core.registry import Registry
from shrek.core.render import MANIFEST, Rendering, select_steps, wrapper_files
from shrek.errors import ExitCode, ShrekError
from tests.conftest import write_step


@pytest.fixture
def two_steps(runnable: Registry):
    write_step(
        runnable, "gen", jobs=2, exec="touch o.dat", outputs=[{"name": "o", "files": "o.dat"}]
    )
    write_step(
        runnable,
        "use",
        inputs=[{"dataset": "gen.o", "files_per_job": 1}],
        exec="touch u.dat",
        outputs=[{"name": "u", "files": "u.dat"}],
    )
    tag, _ = load_tag(runnable, "sP22aa-local")
    return runnable, tag


def test_select_steps_orders_and_names_the_closest_unknown_step(two_steps) -> None:
    _, tag = two_steps
    assert select_steps(tag, None) == ["gen", "use"]
    assert select_steps(tag, ["use"]) == ["use"]
    with pytest.raises(ShrekError) as unknown:
        select_steps(tag, ["gne"])
    assert unknown.value.code == ExitCode.NOT_FOUND and "did you mean 'gen'" in unknown.value.fix


def test_seal_writes_the_manifest_of_exactly_the_sandbox(two_steps) -> None:
    registry, tag = two_steps
    sandbox, resources = wrapper_files(registry, tag, list(tag.steps.values()), None)
    rendering = Rendering(tag.name, ["gen", "use"], None, sandbox, resources, {})
    rendering.seal({"gen": 5})
    manifest = yaml.safe_load(rendering.extra[MANIFEST])
    assert [f["path"] for f in manifest["files"]] == ["gen.sh", "use.sh"]
    assert manifest["first_sequence"] == {"gen": 5, "use": 1}
    assert manifest["manifest_digest"] == rendering.manifest_digest
    assert rendering.wrapper_sha256("use") == manifest["files"][1]["sha256"]
    again = Rendering(tag.name, ["gen", "use"], None, dict(sandbox), resources, {})
    again.seal({"gen": 5})
    assert again.extra[MANIFEST] == rendering.extra[MANIFEST]  # deterministic
