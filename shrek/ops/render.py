"""``shrek render``: put a rendering together, write it into a directory, optionally check it.

A rendering is the core's wrappers and manifest (:mod:`shrek.core.render`) plus PanDA's
workflow description (:mod:`shrek.backends.panda.render`), which every rendering carries: the
records keep its command lines whichever backend runs the jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from shrek.backends import Check
from shrek.backends.factory import workflow_description
from shrek.core.allocations import next_first, registry_allocations
from shrek.core.freeze import read_freeze
from shrek.core.model import Tag
from shrek.core.registry import Registry
from shrek.core.render import Options, Rendering, refuse_clashes, select_steps, wrapper_files
from shrek.core.validate import require_valid
from shrek.core.yamlio import write_atomic
from shrek.errors import ExitCode, ShrekError


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
    engine = workflow_description()
    options = options._replace(
        scope=options.scope or engine.default_scope(registry),
        default_site=options.default_site or str(panda.get("site") or ""),
    )
    chosen = select_steps(tag, step_names)
    steps = [tag.steps[s] for s in chosen]
    sandbox, resources = wrapper_files(registry, tag, steps, digest, options.code)
    sandbox.update(engine.files(tag, steps, options, digest))
    refuse_clashes(sandbox, resources)
    described = {s.name: engine.commands(registry, tag, s, options) for s in steps}
    extra = {f"{name}.prun": each["prun"] for name, each in described.items()}
    commands = {name: {**each, "prun": each["prun"].strip()} for name, each in described.items()}
    rendering = Rendering(tag.name, chosen, digest, sandbox, resources, extra, commands)
    rendering.seal(options.first_sequence)
    return rendering


class RenderResult(NamedTuple):
    rendering: Rendering
    checks: list[Check]


def render_target(
    registry: Registry,
    target: str,
    output: Path,
    *,
    first_sequence: int | None = None,
    run_checks: bool = False,
    force: bool = False,
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
    options = Options(
        first_sequence=sequences,
        scope=workflow_description().default_scope(registry),
        code=tuple(frozen.get("code") or ()) if frozen else (),
    )
    rendering = render(
        registry, tag, [step] if step else None, options, frozen["digest"] if frozen else None
    )
    _clear_output(registry, output, force)
    rendering.write(output)
    write_atomic(output / RENDERED_MARK, f"rendered by SHREK: {tag.name}\n")
    checks = (
        workflow_description().check(tag, rendering, output, registry.shellcheck_fails_on)
        if run_checks
        else []
    )
    return RenderResult(rendering, checks)


RENDERED_MARK = ".shrek-rendering"  # in a directory render -o wrote: it may be replaced


def _clear_output(registry: Registry, output: Path, force: bool) -> None:
    """An empty or new directory is used as it is; one SHREK rendered into before (or any, with
    ``force``) is replaced whole, so no file of an earlier rendering (another tag's *.prun)
    stays; any other non-empty directory is refused — render never deletes what it did not
    write unless told to, and never the registry, a directory above it, or the home directory."""
    output = output.resolve()
    if not output.exists():
        output.mkdir(parents=True)
        return
    if not output.is_dir():
        raise ShrekError(f"{output} is not a directory", "name a directory", ExitCode.USAGE)
    if not any(output.iterdir()):
        return
    protected = [registry.root.resolve(), *registry.root.resolve().parents, Path.home()]
    if output in protected or registry.root.resolve().is_relative_to(output):
        raise ShrekError(
            f"{output} holds the registry (or is your home directory): render does not replace it",
            "render into a directory of its own, e.g. -o rendered/",
            ExitCode.USAGE,
        )
    if not (output / RENDERED_MARK).exists() and not force:
        raise ShrekError(
            f"{output} is not empty and SHREK did not render into it",
            "render into a new or empty directory, or add --force to replace its content whole",
            ExitCode.CONFLICT,
        )
    import shutil  # (with bz2 and lzma) only for 'shrek render -o', not for a submit

    shutil.rmtree(output)
    output.mkdir()
