"""PanDA's description of a rendering, behind :class:`shrek.backends.WorkflowDescription`.

``shrek render`` and every submission carry it (the CWL pchain reads, the prun line of each
step), whichever backend runs the jobs: the records keep its command lines.
"""

from __future__ import annotations

from pathlib import Path

from shrek.backends import Check
from shrek.backends.panda import render
from shrek.core.model import Step, Tag
from shrek.core.registry import Registry
from shrek.core.render import Options, Rendering


class PandaWorkflow:
    """The CWL workflow and prun commands of :mod:`shrek.backends.panda.render`, and the
    offline checks of :mod:`shrek.backends.panda.checks`."""

    def default_scope(self, registry: Registry) -> str:
        return render.default_scope(registry)

    def files(
        self, tag: Tag, steps: list[Step], options: Options, digest: str | None
    ) -> dict[str, bytes]:
        return render.workflow_files(tag, steps, options, digest)

    def commands(
        self, registry: Registry, tag: Tag, step: Step, options: Options
    ) -> dict[str, str]:
        prun = render.prun_line(registry, tag, step, options)
        return {**render.step_commands(tag, step, options), "prun": prun}

    def check(
        self, tag: Tag, rendering: Rendering, directory: Path, shellcheck_fails_on: str
    ) -> list[Check]:
        from shrek.backends.panda import checks  # only for render --check, not every rendering

        return checks.check(tag, rendering, directory, shellcheck_fails_on)
