"""Errors and findings: how SHREK tells a user what is wrong, where, and how to fix it.

Every user mistake ends as either a :class:`Finding` (a located problem in a file, collected so
that one run reports all of them) or a :class:`ShrekError` (a refusal of a whole command). The
CLI turns both into plain lines and an exit code from :class:`ExitCode`; nothing a user can get
wrong is allowed to surface as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes. The README's exit-code table is generated from these names."""

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


@dataclass(frozen=True)
class Finding:
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


@dataclass
class ShrekError(Exception):
    """A refusal of a whole command, shown as one message (plus any findings) and an exit code."""

    message: str
    fix: str = ""
    code: ExitCode = ExitCode.INVALID
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        lines = [str(f) for f in self.findings]
        lines.append(f"shrek: {self.message}")
        if self.fix:
            lines.append(f"    fix: {self.fix}")
        return "\n".join(lines)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in reading order: by file, then line, then column."""
    return sorted(set(findings), key=lambda f: (f.file, f.line, f.column, f.message))
