"""``shrek render``: put a rendering together, write it into a directory, optionally check it.

A rendering is the core's wrappers and manifest (:mod:`shrek.core.render`) plus PanDA's
workflow description (:mod:`shrek.backends.panda.render`), which every rendering carries: the
records keep its command lines whichever backend runs the jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from shrek.backends.panda.checks import Check, check
from shrek.backends.panda.render import default_scope, prun_line, step_commands, workflow_files
from shrek.core.allocations import next_first, registry_allocations
from shrek.core.freeze import read_freeze
from shrek.core.model import Tag
from shrek.core.registry import Registry
from shrek.core.render import Options, Rendering, refuse_clashes, select_steps, wrapper_files
from shrek.core.validate import require_valid


def render(
    registry: Registry,
    tag: Tag,
    step_names: list[str] | None = None,
    options: Options | None = None,
    digest: str | None = None,
) -> Rendering:
    """Render ``step_names`` of ``tag`` (all steps by default, in dependency order)."""
    options = options or Options()
    panda = registry.settings.get("panda") or {}
    options = replace(
        options,
        scope=options.scope or default_scope(registry),
        default_site=options.default_site or str(panda.get("site") or ""),
    )
    chosen = select_steps(tag, step_names)
    steps = [tag.steps[s] for s in chosen]
    sandbox, resources = wrapper_files(registry, tag, steps, digest)
    sandbox.update(workflow_files(tag, steps, options, digest))
    refuse_clashes(sandbox, resources)
    extra = {f"{s.name}.prun": prun_line(registry, tag, s, options) for s in steps}
    commands = {
        s.name: {**step_commands(tag, s, options), "prun": extra[f"{s.name}.prun"].strip()}
        for s in steps
    }
    rendering = Rendering(tag.name, chosen, digest, sandbox, resources, extra, commands)
    rendering.seal(options.first_sequence)
    return rendering


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
    # a preview: every step at the number a production submission would start from
    first = first_sequence or next_first(registry_allocations(registry), test=False)
    sequences = dict.fromkeys(chosen, first)
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
