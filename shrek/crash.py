"""The crash log: what a user attaches to a bug report when SHREK fails unexpectedly.

An unexpected error is a bug, never a user's mistake, so the user sees one line (and exit code
70) instead of a traceback, and the traceback goes into a file with what is needed to reproduce
it — SHREK's, Python's and git's versions, the platform, the command and the directory — as
pre-commit does. Everything written passes the redaction step: a traceback may quote a token.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from shrek import __version__
from shrek.redact import redact

CRASH_DIR = "shrek/crash"  # under $XDG_CACHE_HOME (default ~/.cache)


def crash_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / CRASH_DIR


def write_crash_log(error: BaseException, argv: list[str]) -> str:
    """Write the crash log and return its path (in the temporary directory when the cache
    directory cannot be written; '(not written: why)' when neither can)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = redact(_report(error, argv))
    reasons = []
    for directory in (crash_dir(), Path(tempfile.gettempdir())):
        path = directory / f"shrek-crash-{stamp}-{os.getpid()}.log"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            reasons.append(f"{directory}: {exc.strerror or exc}")
            continue
        return str(path)
    return "(not written: " + "; ".join(reasons) + ")"


def _report(error: BaseException, argv: list[str]) -> str:
    lines = [
        "### SHREK crash log: attach this file to the bug report",
        f"shrek: {__version__}",
        f"python: {sys.version.split()[0]} ({sys.executable})",
        f"platform: {platform.platform()}",
        f"git: {_git_version()}",
        f"command: shrek {' '.join(argv)}",
        f"directory: {os.getcwd()}",
        f"time: {datetime.now(UTC).isoformat(timespec='seconds')}",
        "",
        "### traceback",
        "".join(traceback.format_exception(error)).rstrip(),
    ]
    return "\n".join(lines) + "\n"


def _git_version() -> str:
    try:
        done = subprocess.run(["git", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "not found"
    return done.stdout.strip() or "unknown"
