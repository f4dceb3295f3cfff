"""``shrek render``: resolve ``TAG[/STEP]``, render it into a directory, optionally check it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shrek.backends.panda.checks import Check, check
from shrek.core.freeze import read_freeze
from shrek.core.records import next_sequence
from shrek.core.registry import Registry
from shrek.core.render import Options, Rendering, default_scope, render
from shrek.core.validate import require_valid


@dataclass
class RenderResult:
    rendering: Rendering
    checks: list[Check] = field(default_factory=list)


def render_target(
    registry: Registry,
    target: str,
    output: Path,
    *,
    first_sequence: int | None = None,
    run_checks: bool = False,
) -> RenderResult:
    """Render a valid tag (or one of its steps) into ``output``; sequence numbers continue
    after every range earlier submissions used unless ``first_sequence`` is given."""
    name, step = registry.split_target(target)
    tag = require_valid(registry, name)
    frozen, _ = read_freeze(registry, tag.name)
    chosen = [step] if step else list(tag.steps)
    sequences = {s: first_sequence or next_sequence(tag.directory, s) for s in chosen}
    options = Options(first_sequence=sequences, scope=default_scope(registry))
    rendering = render(
        registry, tag, [step] if step else None, options, frozen["digest"] if frozen else None
    )
    output.mkdir(parents=True, exist_ok=True)
    rendering.write(output)
    result = RenderResult(rendering)
    if run_checks:
        result.checks = check(tag, rendering, output)
    return result
