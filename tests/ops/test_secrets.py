"""No secret in anything SHREK writes (issue 26): a credential of any known kind, put wherever a
user can put text — a title, an owner, a reason, a parameter (by its value or by its name), a
step's ``exec``, a build's set-up in ``shrek.yaml`` — is refused at entry or redacted, and
never reaches a commit (``git log -p``), a file SHREK writes, or the terminal.

The user's own files are not committed here: what the history holds is SHREK's alone.
"""

from __future__ import annotations

import base64
import contextlib
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrek.cli.main import run
from shrek.core.registry import Registry
from shrek.ops.init import init_registry
from shrek.ops.tag import TagRequest, new_tag
from tests.conftest import git

TOKEN = st.text(
    alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", min_size=36, max_size=36
)
PASSWORD = st.text(
    alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789!%^", min_size=10, max_size=20
).filter(lambda p: any(c.isdigit() for c in p))  # never a word SHREK prints ('supersedes')


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@st.composite
def secrets(draw: st.DrawFn) -> tuple[str, str]:
    """(the text a user writes, the secret part that must never be seen again)."""
    kind = draw(st.sampled_from(["jwt", "github", "aws", "slack", "password", "url", "bearer"]))
    token = draw(TOKEN)
    if kind == "jwt":
        header, claims = _b64(b'{"alg":"HS256","typ":"JWT"}'), _b64(f'{{"sub":"{token}"}}'.encode())
        return f"{header}.{claims}.{token}", token
    if kind == "github":
        return f"ghp_{token}", token
    if kind == "aws":
        key = "AKIA" + "".join(c for c in token.upper() if c.isalnum())[:16].ljust(16, "Q")
        return key, key[4:]
    if kind == "slack":
        return f"xoxb-1234567890-1234567890-{token[:24]}", token[:24]
    password = draw(PASSWORD)
    if kind == "password":
        return f"password={password}", password
    if kind == "url":
        return f"https://jdoe:{password}@data.example.org/x", password
    return f"Authorization: Bearer {token}", token


PLACES = ["title", "owner", "reason", "parameter", "parameter-name", "exec", "build-setup"]
STEP = """\
name: gen
description: generate
parameters:
  nevents: 10
jobs: 1
outputs:
  - name: data
    files: out.dat
exec: touch out.dat
"""


def _shrek(root: Path, *args: str) -> str:
    """Run the CLI in this process; its output (both streams)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        run(["--registry", str(root), *args])
    return out.getvalue() + err.getvalue()


def _place(root: Path, place: str, text: str, secret: str) -> str:
    """Put ``text`` where ``place`` says, run what a user runs next; all they were shown."""
    if place in ("title", "owner"):
        return _shrek(root, "tag", "new", "--build", "local", f"--{place}", f"run {text} here")
    if place == "reason":
        return _shrek(root, "invalidate", "sP22aa", "--reason", f"leaked {text}")
    step = root / "tags" / "sP22aa-local" / "job" / "gen.yaml"
    if place == "parameter":
        step.write_text(STEP.replace("  nevents: 10", f"  nevents: 10\n  extra: '{text}'"))
    elif place == "parameter-name":
        step.write_text(STEP.replace("  nevents: 10", f"  nevents: 10\n  db_password: '{secret}'"))
    elif place == "exec":
        step.write_text(
            STEP.replace(
                "exec: touch out.dat",
                f"exec: MYSQL_PWD='{secret}' curl -H '{text}' x; touch out.dat",
            )
        )
    else:
        settings = root / "shrek.yaml"
        settings.write_text(
            settings.read_text().replace(
                "builds:\n",
                f"builds:\n  leaky:\n    setup: export PANDA_AUTH_ID_TOKEN='{text}'\n",
                1,
            )
        )
        return _shrek(root, "tag", "new", "--build", "leaky") + _shrek(root, "validate")
    shown = _shrek(root, "validate") + _shrek(root, "render-readme")
    shown += _shrek(root, "freeze", "sP22aa") + _shrek(root, "submit", "sP22aa/gen", "--test")
    return shown


def _written_by_shrek(root: Path) -> str:
    """Everything SHREK wrote that a user can read: its commits, and the files under tags/
    other than the step file the user wrote."""
    text = git(root, "log", "-p", "--all", "--format=%B")
    for path in sorted((root / "tags").rglob("*")):
        if path.is_file() and path.name != "gen.yaml":
            text += path.read_text(errors="replace")
    return text


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(secret=secrets(), place=st.sampled_from(PLACES))
def test_no_secret_reaches_what_shrek_writes(secret: tuple[str, str], place: str) -> None:
    text, core = secret
    with tempfile.TemporaryDirectory() as scratch:
        root = init_registry(Path(scratch) / "registry")
        new_tag(
            Registry.open(root),
            TagRequest(label="sP22aa", skip_to=True, build="local", template="demo"),
        )
        (root / "tags" / "sP22aa-local" / "job" / "gen.yaml").write_text(STEP)
        git(root, "add", "-A")
        git(root, "commit", "-qm", "user: a step of my own")
        shown = _place(root, place, text, core)
        assert "Traceback" not in shown, shown
        assert core not in shown, shown
        assert core not in _written_by_shrek(root)
