"""Hostile and malformed input: each is one finding at its file and line, never a crash, a
hang, a traceback or a leaked secret."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shrek.core.freeze import read_list
from shrek.core.ledger import LEDGER_FILE
from shrek.core.records import read_record
from shrek.core.registry import Registry
from shrek.core.validate import validate
from shrek.core.yamlio import MAX_ALIASES, MAX_DEPTH, MAX_FILE_BYTES, _risky
from shrek.errors import ExitCode, ShrekError
from tests.conftest import git
from tests.core.conftest import GEN, TAG, assert_reported

J = f"{TAG}/job"
GITHUB = "ghp_" + "R2d2C3po" * 4 + "BB8x"
JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJqZG9lIiwiZXhwIjo0MDAwMDAwMDAwfQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
)


def _bomb(depth: int) -> str:
    """The billion-laughs pattern: each level aliases the previous one nine times."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, depth + 1):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def step(text: str) -> Callable[[Path], None]:
    def write(tag_dir: Path) -> None:
        (tag_dir / "job" / "gen.yaml").write_text(text)

    return write


def registry_file(name: str, data: bytes | str) -> Callable[[Path], None]:
    def write(tag_dir: Path) -> None:
        path = tag_dir.parent.parent / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())

    return write


CASES = [
    ("alias-bomb-7", step(_bomb(7)), f"{J}/gen.yaml:6:", "alias bomb"),
    ("alias-bomb-8", step(_bomb(8)), f"{J}/gen.yaml:", "alias bomb"),
    ("recursive-alias", step("a: &a [*a]\n"), f"{J}/gen.yaml:1:8", "refers to itself"),
    (
        "many-aliases",
        step("x: &x 1\nl: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n"),
        f"{J}/gen.yaml:2:",
        f"more than {MAX_ALIASES} aliases",
    ),
    (
        "deep-flow",
        step("x: " + "[" * 2000 + "]" * 2000 + "\n"),
        f"{J}/gen.yaml:1:",
        f"nesting deeper than {MAX_DEPTH} levels",
    ),
    (
        "deep-block",
        step("".join(" " * i + f"k{i}:\n" for i in range(80)) + " " * 80 + "v: 1\n"),
        f"{J}/gen.yaml:",
        f"nesting deeper than {MAX_DEPTH} levels",
    ),
    (
        "huge-file",
        step("# " + "x" * (MAX_FILE_BYTES + 10) + "\n"),
        f"{J}/gen.yaml",
        "SHREK reads YAML files of at most",
    ),
    (
        "5000-digits",
        step(GEN.replace("jobs: 2", "jobs: " + "9" * 5000)),
        f"{J}/gen.yaml:5:1",
        "more than 1,000 digits",
    ),
    (
        "int-key",
        step(GEN.replace("  nevents: 10", "  2022: 50")),
        f"{J}/gen.yaml:4:3",
        "as a number",
    ),
    (
        "bool-key",
        step(GEN.replace("  nevents: 10", "  true: 1")),
        f"{J}/gen.yaml:4:3",
        "true or false",
    ),
    ("null-key", step(GEN.replace("  nevents: 10", "  ~: 1")), f"{J}/gen.yaml:4:3", "null"),
    ("float-key", step(GEN.replace("  nevents: 10", "  1.5: 1")), f"{J}/gen.yaml:4:3", "a number"),
    (
        "float-jobs",
        step(GEN.replace("jobs: 2", "jobs: 4.0")),
        f"{J}/gen.yaml:5:7",
        "must be an integer, not a decimal number",
    ),
    (
        "float-memory",
        step(GEN + "requirements:\n  memory_mb: 512.0\n"),
        f"{J}/gen.yaml:13:14",
        "must be an integer",
    ),
    (
        "huge-memory",
        step(GEN + "requirements:\n  memory_mb: 1.0e+308\n"),
        f"{J}/gen.yaml:13:14",
        "must be an integer",
    ),
    (
        "memory-over-maximum",
        step(GEN + "requirements:\n  memory_mb: 99999999\n"),
        f"{J}/gen.yaml:13:14",
        "greater than the maximum",
    ),
    (
        "float-attempts",
        step(GEN + "requirements:\n  max_attempts: 2.0\n"),
        f"{J}/gen.yaml:13:17",
        "must be an integer",
    ),
    # YAML 1.1 read these as other values (issue 26): YAML 1.2's core schema keeps `1:20` a
    # string (so not a job count); a number YAML would write back differently is a finding
    (
        "sexagesimal-jobs",
        step(GEN.replace("jobs: 2", "jobs: 1:20")),
        f"{J}/gen.yaml:5:7",
        "jobs must be an integer, not a string ('1:20')",
    ),
    (
        "leading-zero",
        step(GEN.replace("  nevents: 10", "  nevents: 012")),
        f"{J}/gen.yaml:4:12",
        "YAML reads 012 as the number 12, not as written",
    ),
    ("hex", step(GEN.replace("jobs: 2", "jobs: 0x2")), f"{J}/gen.yaml:5:7", "as the number 2"),
    (
        "trailing-zero",
        step(GEN.replace("  nevents: 10", "  ptmin: 1.50")),
        f"{J}/gen.yaml:4:10",
        "YAML reads 1.50 as the number 1.5",
    ),
    (
        "capital-bool",
        step(GEN.replace("  nevents: 10", "  embed: True")),
        f"{J}/gen.yaml:4:10",
        "YAML reads True as the boolean true",
    ),
    (
        "title-newline",
        lambda d: (d / "tag.yaml").write_text(
            (d / "tag.yaml").read_text().replace("title: test production", 'title: "a\\nb"')
        ),
        f"{TAG}/tag.yaml:3:8",
        "invalid value",
    ),
    (
        "conflict-markers",
        step(GEN.replace("jobs: 2", "<<<<<<< HEAD\njobs: 2\n=======\njobs: 3\n>>>>>>> theirs")),
        f"{J}/gen.yaml:5:1",
        "merge conflict",
    ),
    ("tab-indent", step(GEN.replace("  nevents", "\tnevents")), f"{J}/gen.yaml:4:1", "a tab"),
    (
        "missing-colon",
        step(GEN.replace("jobs: 2", "jobs 2")),
        f"{J}/gen.yaml:5:1",
        "the colon is missing",
    ),
    (
        "jwt-parameter",
        step(GEN.replace("  nevents: 10", f"  nevents: 10\n  token: {JWT}")),
        f"{J}/gen.yaml:5:10",
        "holds a credential (JSON Web Token)",
    ),
    (
        "password-in-command",
        step(GEN.replace("${SHREK_SEQ}", "${SHREK_SEQ} --password=Hunter2-Secret")),
        f"{J}/gen.yaml:11:",
        "holds a credential",
    ),
    (
        "password-by-name",
        step(GEN.replace("  nevents: 10", "  nevents: 10\n  db_password: correct-horse")),
        f"{J}/gen.yaml:5:16",
        "parameters.db_password holds a credential ('db_password' assignment)",
    ),
    (
        "mysql-pwd-in-exec",
        step(GEN.replace("exec: bash", "exec: MYSQL_PWD=s3cr3t-pw bash")),
        f"{J}/gen.yaml:11:",
        "exec holds a credential ('MYSQL_PWD' assignment)",
    ),
    (
        "bearer-in-exec",
        step(
            GEN.replace(
                "exec: bash bin/run.sh ${nevents} ${SHREK_SEQ}",
                "exec: \"curl -H 'Authorization: Bearer 0paqu3T0k3n' x; bash bin/run.sh\"",
            )
        ),
        f"{J}/gen.yaml:11:",
        "exec holds a credential (HTTP authorization)",
    ),
    (
        "credential-url",
        lambda d: (d / "tag.yaml").write_text(
            (d / "tag.yaml").read_text().replace("https://", "https://jdoe:S3cret-pw@")
        ),
        f"{TAG}/tag.yaml:8:10",
        "holds a credential",
    ),
    (
        "ledger-not-utf8",
        registry_file(
            LEDGER_FILE, b"# ledger\nsP22aa  sP22aa-mdc2.7  2022-01-01T00:00:00Z  \xff\n"
        ),
        f"{LEDGER_FILE}:2:1",
        "not UTF-8",
    ),
]


@pytest.mark.parametrize(
    ("case", "breakage", "location", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_hostile_input_is_one_located_finding(
    registry: Registry,
    tag_dir: Path,
    case: str,
    breakage: Callable[[Path], None],
    location: str,
    message: str,
) -> None:
    breakage(tag_dir)
    assert_reported(registry, location, message, prefix=True)


def _validate_in_a_process(registry: Registry) -> subprocess.CompletedProcess[str]:
    """`shrek validate` as a user runs it: a crash or a hang shows as a process, not a test."""
    return subprocess.run(
        [sys.executable, "-m", "shrek", "validate"],
        cwd=registry.root,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_crash_from_the_command_line_either(registry: Registry, tag_dir: Path) -> None:
    """50,000 levels of nesting crashed PyYAML's C composer (exit 139): run as a process."""
    step("x: " + "[" * 50_000 + "]" * 50_000 + "\n")(tag_dir)
    run = _validate_in_a_process(registry)
    assert run.returncode == ExitCode.INVALID, run.stderr[-1000:]
    assert "nesting deeper than" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("where", ["job/evil.yaml", "tag.yaml"])
def test_a_fifo_is_refused_without_being_opened(
    registry: Registry, tag_dir: Path, where: str
) -> None:
    """Reading a named pipe waits for a writer forever: validate hung (issue 26)."""
    target = tag_dir / where
    target.unlink(missing_ok=True)
    os.mkfifo(target)
    run = _validate_in_a_process(registry)
    assert run.returncode == ExitCode.INVALID, run.stderr[-1000:]
    location = target.relative_to(registry.root).as_posix()
    assert f"{location}: error: is a named pipe (FIFO), not a regular file" in run.stderr
    assert "Traceback" not in run.stderr
    with pytest.raises(ShrekError, match="named pipe"):
        read_record(target)  # SHREK's own files too: never opened


def test_a_token_in_a_build_setup_is_refused(registry: Registry, shrek) -> None:
    """It was copied into every freeze.yaml (issue 26)."""
    settings = registry.root / "shrek.yaml"
    settings.write_text(
        settings.read_text().replace(
            "builds:\n", f"builds:\n  leaky:\n    setup: export PANDA_AUTH_ID_TOKEN={JWT}\n"
        )
    )
    result = shrek("validate", cwd=registry.root)
    assert result.code == ExitCode.INVALID and "Traceback" not in result.err
    assert "shrek.yaml:" in result.err and "the set-up of build 'leaky' holds a" in result.err
    assert JWT not in result.out + result.err


def test_a_build_key_yaml_reads_as_a_number_is_refused(registry: Registry, shrek) -> None:
    settings = registry.root / "shrek.yaml"
    settings.write_text(
        settings.read_text().replace("builds:\n", "builds:\n  2023:\n    setup: x\n")
    )
    result = shrek("tag", "new", "--build", "2023", cwd=registry.root)
    assert result.code == ExitCode.INVALID and "Traceback" not in result.err
    assert "shrek.yaml:" in result.err and "read by YAML as a number" in result.err


def test_a_pasted_token_never_reaches_the_readme(registry: Registry, tag_dir: Path, shrek) -> None:
    step(GEN.replace("  nevents: 10", f"  nevents: 10\n  token: {JWT}"))(tag_dir)
    assert shrek("render-readme", cwd=registry.root).code == 0
    readme = (tag_dir / "README.md").read_text()
    assert JWT not in readme and JWT.split(".")[1] not in readme and "token" in readme


def test_files_shrek_writes_are_read_under_the_same_bounds(tmp_path: Path) -> None:
    record = tmp_path / "0001.yaml"
    record.write_text(_bomb(8))
    with pytest.raises(ShrekError) as bomb:
        read_record(record)
    assert bomb.value.code == ExitCode.INVALID and "alias bomb" in bomb.value.message
    assert bomb.value.message.startswith(f"{record.as_posix()}:")
    listing = tmp_path / "bkg.files"
    listing.write_text("a.root 10 adler32:0a0b0c0d\nnot a valid line at all here\nb 1\n")
    with pytest.raises(ShrekError) as damaged:
        read_list(listing, "tags/t/inputs/bkg.files")
    assert "tags/t/inputs/bkg.files:2: not a 'name size checksum' line" in damaged.value.message
    listing.write_bytes(b"a.root 10 adler32:0a0b\xff\n")
    with pytest.raises(ShrekError, match="not UTF-8"):
        read_list(listing, "tags/t/inputs/bkg.files")


def test_a_credential_read_at_run_time_is_the_right_way(registry: Registry, tag_dir: Path) -> None:
    step(GEN.replace("${SHREK_SEQ}", '${SHREK_SEQ} --token="$PANDA_TOKEN" --password=${PW}'))(
        tag_dir
    )
    report = validate(Registry.open(registry.root))
    assert not [f for f in report.findings if "credential" in f.message], report.findings


# The gate in front of the event pass, as one regular expression: slow (tried at every
# position) but plainly right. The scanning version must flag at least what it flags.
_PLAIN_GATE = re.compile(
    r"(?:^|[\s\[{,])[&*]|(?:^|[:,\[{-])[ \t]*[\[{]|^[ -]{" + str(MAX_DEPTH) + "}", re.M
)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=" \t\n\r&*[{,:-$ab#'\"", max_size=80))
def test_the_risk_gate_misses_nothing_the_plain_expression_sees(text: str) -> None:
    if _PLAIN_GATE.search(text):
        assert _risky(text), repr(text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tag", "new", "sP22ax", "--owner", "Eve\n<e@x>"), "--owner must be one line"),
        (("tag", "new", "sP22ax", "--title", "red \x1b[31mtitle"), "--title must be one line"),
        (("tag", "new", "sP22ax", "--title", "x" * 201), "--title is 201 characters long"),
        (("tag", "new", "sP22ax", "--owner", "Eve\x00"), "--owner must be one line"),
        (("invalidate", TAG, "--reason", "bad\ndata"), "--reason must be one line"),
        # a credential typed on the command line would be committed for ever (issue 26)
        (("tag", "new", "sP22ax", "--title", "password=Hunter2-Secret"), "--title holds a"),
        (("tag", "new", "sP22ax", "--title", f"see {JWT}"), "--title holds a credential (JSON"),
        (("invalidate", TAG, "--reason", f"leaked {GITHUB} pw=x"), "--reason holds a credential"),
    ],
)
def test_command_line_text_cannot_break_a_ledger(
    registry: Registry, tag_dir: Path, shrek, args: tuple[str, ...], message: str
) -> None:
    """`tag new --owner $'Eve\\n<e@x>'` once committed a broken labels.ledger line (issue 26)."""
    ledger = (registry.root / LEDGER_FILE).read_bytes()
    head = git(registry.root, "rev-parse", "HEAD")
    result = shrek(*args, cwd=registry.root)
    assert result.code == ExitCode.USAGE, result.err
    assert message in result.err and "fix:" in result.err
    assert (registry.root / LEDGER_FILE).read_bytes() == ledger
    assert git(registry.root, "rev-parse", "HEAD") == head
