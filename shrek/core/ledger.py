"""The label ledger: every label ever allocated, one line each, committed with the registry.

Why a file: a label must never be reused, even after its tag directory is deleted, so the
directories themselves cannot be the record. Why append-only lines at the end of one file: two
branches that each allocate a label both append at the end, and git reports a merge conflict
instead of letting two productions share a name.

Format (``labels.ledger`` at the registry root)::

    # comment lines and blank lines are ignored
    sP22aa  sP22aa-mdc2.7  2026-11-23T17:53:00Z  Jane Doe <jane@example.org>
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from shrek.core.labels import Label, LabelError, parse_label
from shrek.core.yamlio import write_atomic
from shrek.errors import Finding

if TYPE_CHECKING:
    from shrek.core.registry import Registry

LEDGER_FILE = "labels.ledger"
HEADER = (
    "# SHREK label ledger: every label ever allocated, in order. Append-only: never edit,\n"
    "# reorder or delete a line. Labels listed here are never allocated again, even if their\n"
    "# tag directory is gone. A merge conflict here means two branches allocated labels at\n"
    "# once: keep both lines if the labels differ, otherwise re-create one of the tags.\n"
    "# label  tag  allocated-at(UTC)  by\n"
)


class Entry(NamedTuple):
    label: str
    tag: str
    allocated_at: str
    by: str
    line: int


MAX_LEDGER_BYTES = 8 * 1024 * 1024


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def ledger_lines(
    root: Path, name: str, what: str, fields: str
) -> tuple[list[tuple[int, list[str]]], list[Finding]]:
    """The entry lines of the ledger file ``name`` — (line number, its fields split on blanks,
    the last field taking the rest of the line) — plus findings for a file that is too big or
    not UTF-8, conflict markers left by a merge, and lines with too few fields. ``what`` names
    the ledger in messages; ``fields`` spells a line ('<label> <tag> <time> <who>')."""
    path = root / name
    if not path.exists():
        return [], []
    raw_bytes = path.read_bytes()
    if len(raw_bytes) > MAX_LEDGER_BYTES:
        return [], [
            Finding(
                name,
                0,
                0,
                f"the {what} is {len(raw_bytes):,} bytes; at most {MAX_LEDGER_BYTES:,} are read",
                f"restore {name} from git",
            )
        ]
    try:
        text_all = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw_bytes[: exc.start].count(b"\n") + 1
        return [], [Finding(name, line, 1, f"the {what} is not UTF-8 text", "restore it from git")]
    count = len(fields.split())
    lines: list[tuple[int, list[str]]] = []
    findings: list[Finding] = []
    for number, raw in enumerate(text_all.splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        control = _CONTROL.search(raw)
        if control:  # a NUL makes git treat the ledger as binary: no line diffs, no union merge
            findings.append(
                Finding(
                    name,
                    number,
                    control.start() + 1,
                    f"control character {control.group()!r} in the {what}",
                    f"restore the line from git (git log -p -- {name} shows it as written)",
                )
            )
            continue
        if text.startswith(("<<<<<<<", "=======", ">>>>>>>")):
            findings.append(
                Finding(
                    name,
                    number,
                    1,
                    f"unresolved merge conflict in the {what}",
                    "keep every allocation line (both sides) and delete the conflict markers; "
                    "if both sides took the same name or numbers, re-create one of them",
                )
            )
            continue
        parts = text.split(maxsplit=count - 1)
        if len(parts) < count - 1:
            findings.append(
                Finding(
                    name,
                    number,
                    1,
                    f"malformed ledger line: {text!r}",
                    f"lines are '{fields}'; restore the line from git",
                )
            )
            continue
        lines.append((number, parts + [""] * (count - len(parts))))
    return lines, findings


def read_ledger(root: Path) -> tuple[list[Entry], list[Finding]]:
    """All entries, plus findings for lines that are malformed or left from a merge conflict."""
    lines, findings = ledger_lines(root, LEDGER_FILE, "label ledger", "<label> <tag> <time> <who>")
    entries = [Entry(label, tag, at, by, number) for number, (label, tag, at, by) in lines]
    return entries, findings


def parse_entries(text: str) -> list[Entry]:
    """The well-formed entries of a ledger's text (a committed version, read from git)."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = raw.strip().split(maxsplit=3)
        if len(parts) >= 3 and not parts[0].startswith(("#", "<<<<<<<", "=======", ">>>>>>>")):
            entries.append(Entry(parts[0], parts[1], parts[2], "".join(parts[3:]), number))
    return entries


def check_ledger(
    entries: list[Entry], prefix: str, voided: set[str] | frozenset[str] = frozenset()
) -> list[Finding]:
    """Labels must be well-formed and appear once (a tag voided as the later of a double,
    ``shrek void TAG``, no longer counts)."""
    findings: list[Finding] = []
    first_line: dict[str, int] = {}
    for entry in entries:
        if entry.tag in voided:
            continue
        try:
            parse_label(entry.label, prefix)
        except LabelError as exc:
            findings.append(
                Finding(LEDGER_FILE, entry.line, 1, str(exc), "restore the ledger from git")
            )
        if entry.label in first_line:
            findings.append(
                Finding(
                    LEDGER_FILE,
                    entry.line,
                    1,
                    f"label {entry.label} is allocated twice (also on line "
                    f"{first_line[entry.label]})",
                    f"a label names one production only: void the later tag (shrek void "
                    f"{entry.tag} --reason '...') and re-create it with a new label "
                    f"(shrek tag new --from {entry.tag})",
                )
            )
        first_line.setdefault(entry.label, entry.line)
    return findings


def ledger_findings(registry: Registry) -> tuple[list[Finding], dict[str, Entry]]:
    """The label ledger's own problems, and its entries by label."""
    from shrek.core.lifecycle import voided

    entries, findings = read_ledger(registry.root)
    findings.extend(check_ledger(entries, registry.prefix, voided(registry.tags_dir)[1]))
    return findings, {e.label: e for e in entries}


def taken_labels(entries: list[Entry], prefix: str) -> list[Label]:
    labels = []
    for entry in entries:
        try:
            labels.append(parse_label(entry.label, prefix))
        except LabelError:
            continue
    return labels


def append_entry(root: Path, label: Label | str, tag: str, by: str) -> None:
    """Record an allocation (atomically rewriting the file with one more line at its end)."""
    path = root / LEDGER_FILE
    old = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if old and not old.endswith("\n"):
        old += "\n"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_atomic(path, old + f"{label}  {tag}  {now}  {by}\n")
