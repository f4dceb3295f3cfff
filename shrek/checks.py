"""``shrek render --check``: predict PanDA's verdict on a rendering, offline.

Each check uses the real tool where one exists: ``cwltool --validate`` for the CWL,
panda-client's own prun argument parser for every generated option, ``bash -n`` for every
wrapper. The placeholder and edge checks mirror what panda-server's workflow parser does
(``%{SECDSn}`` is replaced only for existing secondaries, ``%{DSn}`` only in ``opt_exec``;
edges come only from ``<step>/outDS`` references).
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from shrek.model import Tag
from shrek.render import SANDBOX, WORKFLOW, Rendering
from shrek.validate import dependencies


@dataclass
class Check:
    name: str
    problems: list[str] = field(default_factory=list)
    skipped: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.skipped


def check(tag: Tag, rendering: Rendering, directory: Path) -> list[Check]:
    """Run every check on a rendering already written to ``directory``."""
    workflow = yaml.safe_load((directory / SANDBOX / WORKFLOW).read_text(encoding="utf-8"))
    return [
        _bash_syntax(rendering, directory),
        _cwltool(directory),
        _placeholders(workflow, rendering),
        _prun_options(workflow, rendering),
        _edges(tag, rendering, workflow),
    ]


def _bash_syntax(rendering: Rendering, directory: Path) -> Check:
    result = Check("bash -n on every wrapper")
    for step in rendering.steps:
        path = directory / SANDBOX / f"{step}.sh"
        run = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        if run.returncode != 0:
            result.problems.append(f"{step}.sh: {run.stderr.strip()}")
    return result


def _cwltool(directory: Path) -> Check:
    result = Check("cwltool --validate workflow.cwl")
    try:
        import cwltool  # noqa: F401 - only checking that it is installed
    except ImportError:
        result.skipped = (
            "cwltool is not installed: pip install cwltool (or make install), then re-run"
        )
        return result
    run = subprocess.run(
        [sys.executable, "-m", "cwltool", "--validate", WORKFLOW],
        cwd=directory / SANDBOX,
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
        result.problems.append("cwltool rejects workflow.cwl: " + " | ".join(lines[-6:]))
    return result


def _step_inputs(workflow: dict, name: str) -> dict:
    return workflow["steps"][name]["in"]


def _value(entry: object) -> str:
    return str(entry.get("default", "")) if isinstance(entry, dict) else str(entry or "")


def _placeholders(workflow: dict, rendering: Rendering) -> Check:
    result = Check("no unresolved %{...} placeholders")
    for name in rendering.steps:
        inputs = _step_inputs(workflow, name)
        secondaries = inputs.get("opt_secondaryDSs", {})
        count = len(secondaries.get("source", [])) if isinstance(secondaries, dict) else 0
        for key in ("opt_exec", "opt_args"):
            for match in re.finditer(r"%\{([^}]*)\}", _value(inputs.get(key))):
                holder = match.group(1)
                number = re.fullmatch(r"SECDS(\d+)", holder)
                if number and 1 <= int(number.group(1)) <= count:
                    continue
                if key == "opt_exec" and re.fullmatch(r"DS1", holder) and "opt_inDS" in inputs:
                    continue
                result.problems.append(
                    f"{name}: {key} has %{{{holder}}}, which the PanDA "
                    "server would leave unreplaced"
                )
    for step in rendering.steps:
        line = rendering.extra.get(f"{step}.prun", "")
        if "%{" in line:
            result.problems.append(
                f"{step}.prun: has a %{{...}} placeholder, which prun never replaces"
            )
    return result


def _parse_prun(arguments: list[str]) -> str:
    """'' when panda-client's prun parser accepts ``arguments``, else its error message."""
    from pandaclient.PrunArgs import build_parser

    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(arguments)
    except SystemExit as exit_:
        if exit_.code:
            return errors.getvalue().strip().splitlines()[-1] if errors.getvalue() else str(exit_)
    return ""


def _prun_options(workflow: dict, rendering: Rendering) -> Check:
    result = Check("prun options accepted by panda-client's own parser")
    try:
        import pandaclient.PrunArgs  # noqa: F401 - only checking that it is installed
    except ImportError:
        result.skipped = "panda-client is not installed: pip install panda-client, then re-run"
        return result
    for name in rendering.steps:
        inputs = _step_inputs(workflow, name)
        arguments = shlex.split(_value(inputs.get("opt_args")))
        arguments += ["--exec", _value(inputs.get("opt_exec")), "--outDS", "user.shrek.check"]
        error = _parse_prun(arguments)
        if error:
            result.problems.append(f"{name}: opt_args rejected: {error}")
        line = shlex.split(rendering.extra.get(f"{name}.prun", "prun"))[1:]
        error = _parse_prun(line)
        if error:
            result.problems.append(f"{name}.prun rejected: {error}")
    return result


def _edges(tag: Tag, rendering: Rendering, workflow: dict) -> Check:
    result = Check("every step present and every dependency an edge")
    chosen = set(rendering.steps)
    edges = dependencies(tag)
    for name in rendering.steps:
        if name not in workflow.get("steps", {}):
            result.problems.append(f"step {name} is missing from workflow.cwl")
            continue
        inputs = _step_inputs(workflow, name)
        references = [inputs.get("opt_inDS")]
        secondaries = inputs.get("opt_secondaryDSs")
        if isinstance(secondaries, dict):
            references += secondaries.get("source", [])
        parents = {str(r).split("/")[0] for r in references if str(r).endswith("/outDS")}
        for parent in sorted(edges.get(name, set()) & chosen):
            if parent not in parents:
                result.problems.append(
                    f"{name} reads {parent}'s output but workflow.cwl has no {parent}/outDS edge"
                )
    return result
