"""Submission records: ``tags/<tag>/submissions/<step>/NNNN.yaml``, one per hand-over.

A record is written (journalled) *before* the backend is called, in state ``submitting``, and
completed afterwards; ``shrek status`` keeps it up to date. Each state change is appended to its
history with the time. Records also carry the sequence-number range every submission reserved
(``sequences: {<step>: {first, last}}``), allocated registry-wide from ``submissions.ledger``
(:mod:`shrek.core.allocations`), so no two jobs of the registry share a sequence number or seed.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shrek.core import schema
from shrek.core.layout import STATE_DIR, SUBMISSIONS_DIR
from shrek.core.submission import HistoryEntry, SubmissionData
from shrek.core.yamlio import dump_yaml, load_data, load_yaml, write_atomic
from shrek.errors import ExitCode, ShrekError
from shrek.redact import redact_data

ACTIVE = frozenset({"submitting", "submitted", "running"})
COMPLETED = frozenset({"done", "partial"})  # ended, with outputs to read or retry
FINAL = frozenset({"done", "partial", "failed", "killed", "cancelled", "abandoned"})
# Records written before 0.2 named a submission that ended with some jobs failed "finished"
# (PanDA's word, which reads like success); they are read as "partial".
RENAMED_STATES = {"finished": "partial"}
HEADER = (
    "# yaml-language-server: $schema=../../../../schemas/submission.schema.json\n"
    "# SHREK submission record: written by 'shrek submit' and kept up to date by 'shrek "
    "status'.\n# Never edit by hand. Schema: schemas/submission.schema.json\n"
)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Record:
    """One submission record: its file and its data (changed in place, then saved)."""

    __slots__ = ("data", "path")

    def __init__(self, path: Path, data: SubmissionData) -> None:
        self.path = path
        self.data = data
        state = data.get("state")
        if state in RENAMED_STATES:  # an older record: one vocabulary for every reader
            data["state"] = RENAMED_STATES[state]

    def __repr__(self) -> str:
        return f"Record({self.path.as_posix()!r}, state={self.data.get('state')!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return self.path == other.path and self.data == other.data

    __hash__ = None  # type: ignore[assignment]  # changed in place: never a key

    @property
    def step(self) -> str:
        return str(self.data["step"])

    @property
    def number(self) -> int:
        return int(self.data["number"])

    @property
    def state(self) -> str:
        return str(self.data["state"])

    @property
    def test(self) -> bool:
        return bool(self.data.get("test"))

    @property
    def backend(self) -> str:
        return str(self.data["backend"]["name"])

    @property
    def datasets_written(self) -> list[str]:
        """The output datasets, in every spelling the record knows (and their Rucio DIDs)."""
        data = self.data["datasets"]
        return [*data["outputs"].values(), *(data.get("rucio") or {}).values()]

    @property
    def label(self) -> str:
        return f"{self.step} #{self.number:04d}" + (" (test)" if self.test else "")

    def set_state(self, state: str, note: str = "") -> bool:
        """Move to ``state`` (appending to the history); False when nothing changed."""
        if state == self.state and not note:
            return False
        if (
            state == self.state
            and self.data["history"]
            and (self.data["history"][-1].get("note") == note)
        ):
            return False
        entry: HistoryEntry = {"at": now(), "state": state}
        if note:
            entry["note"] = note
        self.data["state"] = state
        self.data["history"].append(entry)
        return True

    def save(self) -> None:
        """Write the record atomically; every string passes the redaction step first (a server's
        log or a refusal may quote a token)."""
        self.data = redact_data(self.data)
        write_atomic(self.path, dump_yaml(self.data, HEADER, width=10_000))


def record_files(tag_dir: Path) -> list[Path]:
    """``submissions/*/*.yaml`` of the tag, in path order, as ``Path.glob`` finds them (hidden
    names too: a stray file is named by the checks, not skipped), listed with ``os.scandir``
    and sorted as text: a submit lists a long history twice (its refresh, the ledger check)."""
    directory = tag_dir / SUBMISSIONS_DIR
    try:
        with os.scandir(directory) as entries:
            steps = sorted(entry.name for entry in entries if entry.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    found: list[Path] = []
    for step in steps:
        folder = directory / step
        found.extend(folder / name for name in sorted(os.listdir(folder)) if name.endswith(".yaml"))
    return found


def read_record(path: Path) -> dict[str, Any]:
    """A record's data without its position map (the fast path), under the YAML bounds."""
    data = load_data(path, path.as_posix())
    return data if isinstance(data, dict) else {}


CHECKED_RECORDS = "cache/records"  # in .shrek/: <tag>.jsonl (shrek.core.recordcache)


def load_records(tag_dir: Path, step: str | None = None) -> list[Record]:
    """The tag's records (of one step), oldest first; a damaged record is refused loudly.

    A record whose exact content passed its bounds and schema before is answered from the
    registry's working state (:mod:`shrek.core.recordcache`: its sha256 -> its data): a tag's
    history of finished records costs a read and a hash each, not a YAML parse and a schema
    check.
    """
    from shrek.core.recordcache import read_checked, remember

    root = tag_dir.parent.parent
    cache_file = root / STATE_DIR / CHECKED_RECORDS / f"{tag_dir.name}.jsonl"
    checked = read_checked(cache_file)
    found, current = [], {}
    for path in record_files(tag_dir):
        if step is not None and path.parent.name != step:
            continue
        digest, raw = _digest(path)
        data = checked.entries.get(digest) if digest else None
        if data is None:
            data = checked_record(path, path.relative_to(root).as_posix(), raw)
        current[digest] = data
        found.append(Record(path, data))
    remember(cache_file, checked, current, whole=step is None)
    return sorted(found, key=lambda r: (r.step, r.number))


# Within one process (a submit reads a tag's records for its guards, its plan, its journal
# and its README): a record's digest, remembered by the file's identity (inode, size,
# modification and change time). SHREK replaces files atomically, so a record it rewrites is
# a new inode and is hashed again. The data is parsed afresh from the checked-records file on
# each call (milliseconds), because callers change the records they are given.
_DIGESTS: dict[str, tuple[tuple[int, int, int, int], str]] = {}  # by path, as text


def _digest(path: Path) -> tuple[str, bytes | None]:
    """The record's digest, and its bytes when they were read for it (the first time in this
    process): hashed and parsed from one read. No digest for what is not a regular file:
    reading a FIFO would wait forever, and the check names it."""
    name = os.fspath(path)
    info = os.stat(name)
    if not stat.S_ISREG(info.st_mode):
        return "", None
    identity = info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns
    known = _DIGESTS.get(name)
    if known and known[0] == identity:
        return known[1], None
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    _DIGESTS[name] = (identity, digest)
    return digest, raw


def record_digest(path: Path) -> str:
    """The sha256 of a record file's content ('' for what is not a regular file), remembered
    for this process by the file's identity (see :data:`_DIGESTS`)."""
    return _digest(path)[0]


def checked_record(path: Path, relative: str, raw: bytes | None = None) -> SubmissionData:
    document, problems = load_yaml(path, relative, raw)
    if document is not None and not problems:
        problems = schema.check(document, "submission")
    if problems or document is None:
        raise ShrekError(
            f"submission record {relative} is damaged",
            "restore it from git (records are written by SHREK only)",
            ExitCode.INVALID,
            problems,
        )
    data: SubmissionData = document.data  # the schema just held it to this shape
    return data


def next_number(tag_dir: Path, step: str) -> int:
    """The number after the step's highest record file (listed by name: a submit asks this
    for every step, in a history of hundreds of records)."""
    try:
        names = os.listdir(tag_dir / SUBMISSIONS_DIR / step)
    except (FileNotFoundError, NotADirectoryError):
        return 1
    stems = (name[: -len(".yaml")] for name in names if name.endswith(".yaml"))
    return max((int(stem) for stem in stems if _NUMBERED.fullmatch(stem)), default=0) + 1


_NUMBERED = re.compile(r"\d{4,}")  # a production record's stem (a test's is test-NNNN)


def record_name(number: int, test: bool = False) -> str:
    """A record's file stem and the last part of its id: ``0001``, or ``test-0001`` for a
    test, so that test and production records never share a file (nor a submission id)."""
    return f"test-{number:04d}" if test else f"{number:04d}"


def submission_id(tag: str, step: str, number: int, test: bool = False) -> str:
    return f"{tag}/{step}/{record_name(number, test)}"


def record_path(tag_dir: Path, step: str, number: int, test: bool = False) -> Path:
    return tag_dir / SUBMISSIONS_DIR / step / f"{record_name(number, test)}.yaml"
