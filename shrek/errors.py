"""Errors and findings: how SHREK tells a user what is wrong, where, and how to fix it.

Every user mistake ends as either a :class:`Finding` (a located problem in a file, collected so
that one run reports all of them) or a :class:`ShrekError` (a refusal of a whole command). The
CLI turns both into plain lines and an exit code from :class:`ExitCode`; nothing a user can get
wrong is allowed to surface as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import NamedTuple


class ExitCode(IntEnum):
    """Process exit codes: docs/reference/exit-codes.md is generated from these and MEANINGS."""

    OK = 0
    INVALID = 1  # validation found errors in the registry, a tag or a step
    USAGE = 2  # the command line itself is wrong (typer/click use 2 as well)
    NO_REGISTRY = 3  # not inside a registry, or shrek.yaml unreadable
    NOT_FOUND = 4  # unknown or ambiguous tag, step or template
    CONFLICT = 5  # label or tag already taken, label space exhausted
    GIT = 6  # a git operation failed (no identity, locked index, uncommitted changes, ...)
    DRIFT = 7  # a frozen tag differs from its freeze
    BACKEND = 8  # the backend failed or refused (runner died, server error, bad credentials)
    TOOL_MISSING = 9  # an external program SHREK needs for this is missing (Graphviz, ...)
    # submit's guards, each its own code:
    DIRTY = 10  # uncommitted or untracked changes the submission depends on
    NOT_VALID = 11  # the tag fails validation (never overridden, not even by --test)
    NOT_FROZEN = 12  # the tag has no freeze
    DRIFTED = 13  # the tag differs from its freeze
    NO_UPSTREAM = 14  # an input step has no completed submission to read from
    NOT_PUSHED = 15  # the registry has a remote and HEAD is not on it
    ALREADY = 16  # the step has an active or completed submission (use --again)
    WRONG_BRANCH = 17  # a production submission outside the production branch (or detached)
    CREDENTIALS = 18  # no usable credential for the backend (missing, expired, not OIDC)
    FILESYSTEM = 19  # a path cannot be read or written (missing directory, permissions, full)
    INVALIDATED = 20  # an input was invalidated (shrek invalidate): it is never read again
    SUPERSEDED = 21  # a production submission of a tag another tag supersedes
    LIFECYCLE = 22  # the tag's or submission's state does not allow this (extend, retry, ...)
    NOT_REPRODUCED = 23  # shrek reproduce: the job failed, or an output differs from the original
    OUT_OF_DATE = 24  # the production branch is behind or has diverged from its remote
    REMOTE = 25  # the registry's remote cannot be reached (network, server, access)
    NOTHING_TO_DO = 26  # already so: nothing to kill, retry or invalidate (not an error)
    CRASH = 70  # a bug: an unexpected error; a crash log was written (sysexits' EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)
    CLOSED_PIPE = 141  # the reader of the output went away (shrek log | head): 128 + SIGPIPE


# What each exit code means, for users: docs/reference/exit-codes.md is generated from this
# (scripts/gen_docs.py), and a test holds every code to having a line here.
MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.INVALID: "validation found errors (registry settings, ledger, a tag or a step)",
    ExitCode.USAGE: (
        "the command line is wrong (unknown option, bad label, unknown build or template name)"
    ),
    ExitCode.NO_REGISTRY: "not inside a registry, or `--registry` is not one",
    ExitCode.NOT_FOUND: "unknown or ambiguous tag name, unknown template",
    ExitCode.CONFLICT: (
        "label already allocated or taken, registry already exists, year exhausted, a frozen "
        "tag's content changed (re-freeze refused), a dataset file registered twice with "
        "different content, an output dataset that exists already, `--first-sequence` reusing a "
        "number"
    ),
    ExitCode.GIT: (
        "a git operation failed (no identity, a hook refused the commit, a left-over "
        "`.git/index.lock` — named, with the `rm` that clears it —, a detached HEAD for `tag "
        "new`, uncommitted changes where a commit is needed, an unreachable code repository)"
    ),
    ExitCode.DRIFT: (
        "`shrek verify`: a frozen tag differs from its freeze; `verify --outputs`: an output file "
        "is missing or changed"
    ),
    ExitCode.BACKEND: (
        "the backend failed or refused; a submission ended `failed`, `partial`, `killed` or "
        "`cancelled`"
    ),
    ExitCode.TOOL_MISSING: (
        "an external program SHREK needs for this is missing (Graphviz for `graph -o`)"
    ),
    ExitCode.DIRTY: (
        "submit's guard: uncommitted or untracked changes the submission depends on (see "
        "*Submitting*)"
    ),
    ExitCode.NOT_VALID: (
        "submit's guard: the tag fails validation (never overridden, not even by --test) (see "
        "*Submitting*)"
    ),
    ExitCode.NOT_FROZEN: "submit's guard: the tag has no freeze (see *Submitting*)",
    ExitCode.DRIFTED: "submit's guard: the tag differs from its freeze (see *Submitting*)",
    ExitCode.NO_UPSTREAM: (
        "submit's guard: an input step has no completed submission to read from (see *Submitting*)"
    ),
    ExitCode.NOT_PUSHED: (
        "submit's guard: the registry has a remote and HEAD is not on it (see *Submitting*)"
    ),
    ExitCode.ALREADY: (
        "submit's guard: the step has an active or completed submission (use --again) (see "
        "*Submitting*)"
    ),
    ExitCode.WRONG_BRANCH: (
        "submit's guard: a production submission outside the production branch (or detached) (see "
        "*Submitting*)"
    ),
    ExitCode.CREDENTIALS: "no usable PanDA credential (missing, expired, not an OIDC token, no VO)",
    ExitCode.FILESYSTEM: (
        "a path cannot be read or written (missing directory, permissions, disk full), a damaged "
        "local catalogue (named, with how to move it aside)"
    ),
    ExitCode.INVALIDATED: (
        "a submission would read an invalidated submission's outputs (or an invalidated dataset); "
        "`extend` of an invalidated submission"
    ),
    ExitCode.SUPERSEDED: "a production submission of a superseded tag",
    ExitCode.LIFECYCLE: (
        "the tag's or submission's state does not allow it (`extend`, `invalidate`, `supersede`; "
        "`retry` of a cancelled submission, whose jobs never ran): the refusal names the state "
        "and the fix"
    ),
    ExitCode.NOT_REPRODUCED: (
        "`shrek reproduce`: the job failed, or an output differs from the catalogued one"
    ),
    ExitCode.OUT_OF_DATE: (
        "the production branch is behind or has diverged from its remote (production `submit`), "
        "or SHREK could not bring a checkout up to date with its own published commits"
    ),
    ExitCode.REMOTE: (
        "the registry's remote cannot be reached (network, server, access), or kept moving for 30 "
        "tries"
    ),
    ExitCode.NOTHING_TO_DO: (
        "already so: `kill` with no active submission, `retry` of a done or still running "
        "submission, `invalidate`/`void` of what already is; nothing was changed"
    ),
    ExitCode.CRASH: (
        "an unexpected error: a bug in SHREK. One line names the crash log — "
        "`~/.cache/shrek/crash/shrek-crash-<time>-<pid>.log` (`$XDG_CACHE_HOME`, else the "
        "temporary directory) with SHREK's, Python's and git's versions, the platform, the "
        "command, the directory and the traceback, redacted — to attach to a report; never a "
        "traceback on the terminal"
    ),
    ExitCode.INTERRUPTED: (
        "interrupted (Ctrl-C); `submit` says exactly what was sent and recorded (see *Ctrl-C "
        "tells the truth*)"
    ),
    ExitCode.CLOSED_PIPE: (
        "the reader of the output went away (`shrek log | head`) while SHREK still wrote: the "
        "rest goes nowhere, quietly (typer's own output drops it and exits 0)"
    ),
}


class Finding(NamedTuple):
    """One located problem: ``file:line:column: message`` plus the fix.

    ``file`` is relative to the registry root (posix spelling) so that messages are the same on
    every machine; ``line``/``column`` are 1-based, or 0 when the problem is about the file as
    a whole.
    """

    file: str
    line: int
    column: int
    message: str
    fix: str = ""

    @property
    def location(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    def __str__(self) -> str:
        text = f"{self.location}: error: {self.message}"
        if self.fix:
            text += f"\n    fix: {self.fix}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "fix": self.fix,
        }


class ShrekError(Exception):
    """A refusal of a whole command, shown as one message (plus any findings) and an exit code."""

    def __init__(
        self,
        message: str,
        fix: str = "",
        code: ExitCode = ExitCode.INVALID,
        findings: list[Finding] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.code = code
        self.findings: list[Finding] = findings if findings is not None else []

    def __str__(self) -> str:
        lines = [str(f) for f in self.findings]
        lines.append(f"shrek: {self.message}")
        if self.fix:
            lines.append(f"    fix: {self.fix}")
        return "\n".join(lines)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in reading order: by file, then line, then column."""
    return sorted(set(findings), key=lambda f: (f.file, f.line, f.column, f.message))
