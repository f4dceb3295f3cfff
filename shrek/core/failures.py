"""Why jobs failed, grouped: the ``failures`` of a submission record.

Sixty jobs that failed for one reason are one line ("60 job(s): exit 1: ERROR: cannot open
Fun4All_G4_Pileup_pp.C") with one log to read, not sixty log paths. A job's reason is its exit
status — the wrapper's own codes named, a signal named — and the last line its payload wrote to
stderr (the wrapper's own message when the wrapper failed). Lines are redacted before they are
kept: a payload may print a token.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path

from shrek.core.submission import FailureEntry
from shrek.redact import redact

# The wrapper's own exit codes (shrek/defaults/wrapper.sh.in).
WRAPPER_EXITS = {
    64: "wrapper: bad arguments",
    65: "wrapper: declared output missing or ambiguous",
    66: "wrapper: resource missing",
    67: "wrapper: environment set-up failed",
}
TAIL_LINES = 3
TAIL_BYTES = 4096
MAX_LINE = 300


@dataclass
class JobFailure:
    """One failed job: its sequence number, how it ended and where its log is."""

    seq: int
    exit: int | None  # None: no exit status (killed with its runner, never started)
    attempts: int
    tail: list[str]  # the last lines of its stderr, redacted
    log: str  # registry-relative path of its last attempt's stderr ('' when none)
    error: str = ""  # what the runner itself said (collecting outputs failed, runner died)

    @property
    def reason(self) -> str:
        return describe(self.exit, self.tail, self.error)


@dataclass
class FailureGroup:
    reason: str
    jobs: list[int] = field(default_factory=list)
    attempts: int = 0
    log: str = ""
    tail: list[str] = field(default_factory=list)

    def as_dict(self) -> FailureEntry:
        return {
            "reason": self.reason,
            "count": len(self.jobs),
            "jobs": self.jobs,
            "attempts": self.attempts,
            "log": self.log,
            "tail": self.tail,
        }


def describe(status: int | None, tail: list[str], error: str = "") -> str:
    """'exit 1: <the payload's last stderr line>', 'exit 65 (wrapper: …): <its message>',
    'signal 9 (SIGKILL: killed, e.g. out of memory)', or the runner's own error."""
    if error:
        return error
    if status is None:
        return "no exit status"
    if status < 0:
        name = _signal_name(-status)
        hint = ": killed, e.g. out of memory or a time limit" if -status == 9 else ""
        return f"signal {-status} ({name}{hint})"
    wrapper = WRAPPER_EXITS.get(status)
    own = [line for line in tail if line.startswith("shrek[")]
    theirs = [line for line in tail if not line.startswith("shrek[")]
    if wrapper:
        message = own[-1].split("]: ", 1)[-1] if own else ""
        return f"exit {status} ({wrapper})" + (f": {message}" if message else "")
    return f"exit {status}" + (f": {theirs[-1]}" if theirs else "")


def group(failures: list[JobFailure]) -> list[FailureGroup]:
    """Identical reasons together, the most frequent first; each keeps its first job's log."""
    groups: dict[str, FailureGroup] = {}
    for failure in sorted(failures, key=lambda f: f.seq):
        reason = failure.reason
        found = groups.setdefault(reason, FailureGroup(reason, log=failure.log, tail=failure.tail))
        found.jobs.append(failure.seq)
        found.attempts = max(found.attempts, failure.attempts)
    return sorted(groups.values(), key=lambda g: (-len(g.jobs), g.jobs[0]))


def stderr_tail(path: Path) -> list[str]:
    """The last lines of a log (at most TAIL_BYTES read), each cut and redacted."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    lines = [line.strip() for line in data.decode("utf-8", errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return [redact(line[:MAX_LINE]) for line in lines[-TAIL_LINES - 1 :]]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
