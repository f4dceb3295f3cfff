"""Property-based tests (hypothesis) of the loader, the validator and the renderer.

- random valid step documents validate, and render to wrappers that pass ``bash -n`` and prun
  lines that panda-client's own argument parser accepts;
- random invalidating mutations of valid documents never raise, and always give at least one
  finding with a file and a line (hypothesis' deadline: a second per example);
- arbitrary unicode parameter values reach the job byte for byte.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrek.backends.panda.checks import prun_parser_error
from shrek.core.model import load_tag
from shrek.core.registry import Registry
from shrek.core.validate import validate
from shrek.core.yamlio import dump_yaml
from shrek.ops.render import render
from shrek.redact import (
    _ASSIGNMENT,
    _TRIGGER,
    _may_assign,
    _may_trigger,
    find_credentials,
)

TAG = "sP22aa-local"
SETTINGS = settings(
    # 60 in every test run; SHREK_HYPOTHESIS_EXAMPLES=1000 for a longer search
    max_examples=int(os.environ.get("SHREK_HYPOTHESIS_EXAMPLES", "60")),
    deadline=1000,  # milliseconds: no input may take longer
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,15}", fullmatch=True)
# a name like db_password makes any value a credential: such steps are refused (issue 26)
PARAMETER_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).filter(
    lambda name: not find_credentials(f"{name}=value1234")
)
UNICODE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
).filter(lambda text: not find_credentials(text))
PARAMETER_VALUES = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12), st.booleans(), UNICODE
)
REQUIREMENTS = st.fixed_dictionaries(
    {},
    optional={
        "memory_mb": st.integers(1, 1_048_576),
        "walltime_h": st.integers(1, 720),
        "cpu_time_per_event_s": st.integers(0, 1_000_000),
        "max_attempts": st.integers(1, 50),
        "site": st.from_regex(r"[A-Z][A-Z0-9_]{0,20}", fullmatch=True),
    },
)


@st.composite
def step_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid generator step: random name, parameters, jobs, outputs and requirements."""
    parameters = draw(st.dictionaries(PARAMETER_NAMES, PARAMETER_VALUES, max_size=5))
    outputs = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    used = " ".join(f'"${{{name}}}"' for name in parameters)
    document: dict[str, Any] = {
        "name": "gen",
        "description": draw(UNICODE) or "a step",
        "parameters": parameters,
        "jobs": draw(st.integers(1, 1_000_000)),
        "outputs": [{"name": o, "files": f"{o}_*.dat"} for o in outputs],
        "exec": f"echo {used}".strip() + " && touch " + " ".join(f"{o}_1.dat" for o in outputs),
    }
    requirements = draw(REQUIREMENTS)
    if requirements:
        document["requirements"] = requirements
    return document


def _write(registry: Registry, text: str | bytes) -> Path:
    path = registry.tag_dir(TAG) / "job" / "gen.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _dump(document: dict[str, Any]) -> str:
    return dump_yaml(document)  # SHREK's own writer: what it writes, it reads back the same


@SETTINGS
@given(document=step_documents())
def test_valid_steps_validate_and_render_to_what_bash_and_panda_client_accept(
    runnable: Registry, tmp_path: Path, document: dict[str, Any]
) -> None:
    _write(runnable, _dump(document))
    report = validate(runnable, [TAG])
    assert report.ok, "\n".join(map(str, report.findings))
    tag, _ = load_tag(runnable, TAG)
    rendering = render(runnable, tag)
    wrapper = tmp_path / "gen.sh"
    wrapper.write_bytes(rendering.sandbox["gen.sh"])
    syntax = subprocess.run(["bash", "-n", str(wrapper)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    assert prun_parser_error(shlex.split(rendering.extra["gen.prun"])[1:]) == ""
    commands = rendering.commands["gen"]
    arguments = [*shlex.split(commands["args"]), "--exec", commands["exec"], "--outDS", "user.x.y"]
    assert prun_parser_error(arguments) == ""


def _mutations(document: dict[str, Any]) -> st.SearchStrategy[str | bytes]:
    """Each mutation makes the document invalid in its own way."""
    text = _dump(document)
    wrong_jobs = st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5).map(lambda t: f"x{t}"),
        st.integers(max_value=0),
        st.integers(min_value=1_000_001),
        st.lists(st.integers(), max_size=2),
    )
    unknown_keys = st.from_regex(r"[a-z]{3,10}", fullmatch=True).filter(
        lambda key: (
            key not in ("name", "description", "parameters", "jobs", "outputs", "exec")
            and key not in ("inputs", "resources", "command", "setup", "requirements")
        )
    )
    lines = text.splitlines(keepends=True)
    positions = st.integers(0, len(lines))

    def insert(line: str) -> st.SearchStrategy[str]:
        return positions.map(lambda n: "".join([*lines[:n], line, *lines[n:]]))

    return st.one_of(
        wrong_jobs.map(lambda value: _dump({**document, "jobs": value})),
        st.sampled_from(["name", "outputs", "exec", "description"]).map(
            lambda key: _dump({k: v for k, v in document.items() if k != key})
        ),
        unknown_keys.map(lambda key: _dump({**document, key: 1})),
        st.sampled_from(["<<<<<<< HEAD\n", "=======\n", ">>>>>>> theirs\n"]).flatmap(insert),
        st.just("\tjobs: 3\n").flatmap(insert),
        st.sampled_from(["2022: 50\n", "'x': [\n", '"unclosed: 1\n', "a: &a [*a]\n"]).flatmap(
            insert
        ),
        st.binary(min_size=1, max_size=4).map(lambda junk: text.encode() + b"\xff" + junk),
        st.just(
            text
            + "".join(
                f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 9)
            ).replace("*l0", "1")
        ),
        st.just(_dump({**document, "outputs": "not-a-list"})),
    )


@SETTINGS
@given(data=st.data())
def test_invalid_mutations_never_raise_and_always_say_where(
    runnable: Registry, data: st.DataObject
) -> None:
    document = data.draw(step_documents())
    mutated = data.draw(_mutations(document))
    _write(runnable, mutated)
    report = validate(runnable, [TAG])
    assert not report.ok, mutated
    assert any(f.file.endswith("gen.yaml") and f.line >= 1 for f in report.findings), "\n".join(
        map(str, report.findings)
    )
    assert all(f.fix for f in report.findings)


@SETTINGS
@given(value=UNICODE)
def test_any_unicode_parameter_reaches_the_job_byte_for_byte(
    runnable: Registry, tmp_path: Path, value: str
) -> None:
    document = {
        "name": "gen",
        "description": "echo a parameter back",
        "parameters": {"value": value},
        "jobs": 1,
        "outputs": [{"name": "echoed", "files": "echoed.txt"}],
        "command": 'printf "%s" "$value" > echoed.txt\n',
    }
    _write(runnable, _dump(document))
    tag, _ = load_tag(runnable, TAG)
    rendering = render(runnable, tag)
    work = tmp_path / "job"
    work.mkdir(exist_ok=True)
    (work / "gen.sh").write_bytes(rendering.sandbox["gen.sh"])
    run = subprocess.run(["bash", "gen.sh", "7"], cwd=work, capture_output=True)
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    produced = (work / f"{TAG}.gen.echoed.txt").read_bytes()
    assert produced == value.encode("utf-8")


@SETTINGS
@given(
    st.lists(
        st.sampled_from(
            [
                "eyJ",
                "AKIA",
                "ghp_",
                "sk-a",
                "SG.",
                ":AA",
                "12345678",
                "Ibm",
                "SQUARE",
                "\u017fquare",
            ]
        )
        | st.text(max_size=8),
        max_size=6,
    ).map("".join)
)
def test_the_credential_gate_hides_no_trigger(text: str) -> None:
    """The substring gate in front of the trigger expression never says no where the
    expression would say yes."""
    if _TRIGGER.search(text):
        assert _may_trigger(text), repr(text)


@SETTINGS
@given(
    st.lists(
        st.sampled_from(
            ["PASS", "Secret", "toKen", "KEY", "api-key", "Credential", "AUTH_code", "_PWD",
             "\u017f", "=", ":", " ", "\n", "'", '"', "$", "-", ".", "x", "1234", "hunter2"]
        )
        | st.text(max_size=6),
        max_size=8,
    ).map("".join)
)  # fmt: skip
def test_the_assignment_gate_hides_no_assignment(text: str) -> None:
    """The gate in front of the assignment pattern never says no where the pattern matches."""
    if _ASSIGNMENT.search(text):
        assert _may_assign(text), repr(text)
