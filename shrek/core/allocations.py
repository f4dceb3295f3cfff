"""The submission ledger: every submission number, sequence range and output dataset name
ever allocated in the registry, one line each, committed with the journal of the submission.

Why a ledger and not the records: numbers taken from the records of one checkout are reused by
another (a feature branch, a detached HEAD, a record deleted with ``git rm``), and the same
sequence number means the same random seed. Like ``labels.ledger``, every allocation appends a
line at the end of one committed file, so two branches that both allocated meet as a git merge
conflict, never as silent reuse; and a line outlives its record, so a number is never handed
out twice.

Sequence numbers are registry-wide: a new production range starts after the highest number any
production submission of any step of any tag was given, so no two jobs of the registry share a
seed. Test submissions are not in the ledger: they number in their own space, kept by the tag's
test records (they never consume production numbers; their outputs live in the ``test``
namespace), so a test on a feature branch never makes that branch conflict with production.
Format (``submissions.ledger`` at the registry root)::

    # comment lines and blank lines are ignored
    sP22aa-mdc2.7/gen/0001  prod  1-10  prod.sP22aa-mdc2.7.gen.evt.s0001  local-…  2026-…  J

The run (the submission's run id) makes every line unique, so two clones that made the same
submission can never merge their lines cleanly.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from shrek.core.ledger import ledger_lines
from shrek.core.yamlio import write_atomic
from shrek.errors import Finding, ShrekError

if TYPE_CHECKING:
    from shrek.core.registry import Registry

ALLOCATIONS_FILE = "submissions.ledger"
FIELDS = "<submission> <prod|test> <first>-<last> <outputs,...|-> <run> <time> <who>"
HEADER = (
    "# SHREK submission ledger: every submission number, sequence range and output dataset\n"
    "# ever allocated in this registry, in order. Append-only: never edit, reorder or delete a\n"
    "# line. Numbers and names listed here are never allocated again, even if the record is\n"
    "# gone. A merge conflict here means two branches submitted at once: keep both sides' lines;\n"
    "# if both took the same submission or numbers, 'shrek validate' names them.\n"
    f"# {FIELDS.replace('<', '').replace('>', '')}\n"
)
_SUBMISSION = re.compile(r"(?P<tag>[^/\s]+)/(?P<step>[^/\s]+)/(?:test-)?(?P<number>\d{4,18})")
_RANGE = re.compile(r"(\d{1,18})-(\d{1,18})")  # bounded: a 5,000-digit number is damage


class Allocation(NamedTuple):
    """One submission's allocation: its id, space, sequence range and output datasets."""

    submission: str  # <tag>/<step>/NNNN, as the record's id
    test: bool
    first: int
    last: int
    outputs: tuple[str, ...]
    run: str = "-"
    at: str = ""
    by: str = ""
    line: int = 0

    @property
    def tag(self) -> str:
        return self.submission.split("/")[0]

    @property
    def step(self) -> str:
        return self.submission.split("/")[1]

    @property
    def number(self) -> int:
        return int(self.submission.split("/")[2].removeprefix("test-"))

    @property
    def space(self) -> str:
        return "test" if self.test else "prod"

    def text(self) -> str:
        outputs = ",".join(self.outputs) or "-"
        return (
            f"{self.submission}  {self.space}  {self.first}-{self.last}  {outputs}  "
            f"{self.run or '-'}  {self.at}  {self.by}"
        ).rstrip()


def read_allocations(root: Path) -> tuple[list[Allocation], list[Finding]]:
    """Every allocation, plus findings for lines that cannot be read: read once per version
    of the file in a process (a submit's validation and its plan both read it)."""
    path = root / ALLOCATIONS_FILE
    try:
        info = os.stat(path)
        identity = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    except OSError:
        identity = None
    known = _READ.get(os.fspath(path))
    if identity is None or known is None or known[0] != identity:
        known = (identity, *_read_allocations(root))
        _READ[os.fspath(path)] = known
    return list(known[1]), list(known[2])


# The ledgers read in this process: path -> (the file's identity, allocations, findings).
_READ: dict[str, tuple[tuple[int, int, int, int] | None, list[Allocation], list[Finding]]] = {}


def _read_allocations(root: Path) -> tuple[list[Allocation], list[Finding]]:
    lines, findings = ledger_lines(root, ALLOCATIONS_FILE, "submission ledger", FIELDS)
    allocations: list[Allocation] = []
    for number, (submission, space, numbers, outputs, run, at, by) in lines:
        span = _RANGE.fullmatch(numbers)
        problem = (
            "the submission is not '<tag>/<step>/NNNN'"
            if not _SUBMISSION.fullmatch(submission)
            else "the space is not 'prod' or 'test'"
            if space not in ("prod", "test")
            else "the sequence range is not '<first>-<last>'"
            if not span or int(span.group(1)) > int(span.group(2)) or int(span.group(1)) < 0
            else ""
        )
        if problem:
            findings.append(
                Finding(
                    ALLOCATIONS_FILE,
                    number,
                    1,
                    f"malformed ledger line ({problem})",
                    f"lines are '{FIELDS}'; restore the line from git",
                )
            )
            continue
        assert span is not None
        names = () if outputs == "-" else tuple(outputs.split(","))
        allocations.append(
            Allocation(
                submission,
                space == "test",
                int(span.group(1)),
                int(span.group(2)),
                names,
                run,
                at,
                by,
                number,
            )
        )
    return allocations, findings


def check_allocations(
    allocations: list[Allocation], voided: set[str] | frozenset[str] = frozenset()
) -> list[Finding]:
    """A submission, a sequence number (within its space) and an output dataset name are each
    allocated once; a second allocation is the reuse the ledger exists to prevent. A double
    whose later side was voided (``shrek void``) is repaired and no longer named."""
    findings: list[Finding] = []
    allocations = [a for a in allocations if a.submission not in voided]
    seen: dict[str, Allocation] = {}
    named: dict[str, Allocation] = {}
    for allocation in allocations:
        earlier = seen.get(allocation.submission)
        if earlier is not None:
            findings.append(
                _twice(allocation, f"submission {allocation.submission}", earlier, "submission")
            )
        seen.setdefault(allocation.submission, allocation)
        for name in allocation.outputs:
            if name in named:
                findings.append(_twice(allocation, f"dataset {name}", named[name], "output"))
            named.setdefault(name, allocation)
    for space in (False, True):
        widest: Allocation | None = None  # of the ranges so far, the one reaching furthest
        for allocation in sorted((a for a in allocations if a.test == space), key=_start):
            if widest is not None and allocation.first <= widest.last:
                later, earlier = sorted((widest, allocation), key=lambda a: a.line, reverse=True)
                shared = f"{allocation.first}-{min(widest.last, allocation.last)}"
                findings.append(_twice(later, f"sequence numbers {shared}", earlier, "range"))
            if widest is None or allocation.last > widest.last:
                widest = allocation
    return findings


def _start(allocation: Allocation) -> tuple[int, int]:
    return allocation.first, allocation.line


def _twice(allocation: Allocation, what: str, earlier: Allocation, kind: str) -> Finding:
    fix = {
        "submission": f"two clones made the same submission: void the later one (shrek void "
        f"{allocation.submission} --reason '...'), then submit its step again with --again",
        "output": f"one dataset name for two submissions: void the later one (shrek void "
        f"{allocation.submission} --reason '...'), then submit its step again with --again",
        "range": "the same sequence numbers mean the same random seeds: the later "
        f"submission's outputs repeat the earlier's; void it (shrek void {allocation.submission} "
        "--reason '...'), then submit its step again with --again",
    }[kind]
    return Finding(
        ALLOCATIONS_FILE,
        allocation.line,
        1,
        f"{what} allocated twice: by {allocation.submission} here and by "
        f"{earlier.submission} on line {earlier.line}",
        fix,
    )


def next_first(allocations: Iterable[Allocation], test: bool) -> int:
    """The first sequence number a new submission may use: after every one of its space."""
    return max((a.last for a in allocations if a.test == test), default=0) + 1


def next_number(allocations: Iterable[Allocation], tag: str, step: str) -> int:
    """The next submission number of ``tag``/``step`` the ledger has not handed out."""
    prefix = f"{tag}/{step}/"
    return max((a.number for a in allocations if a.submission.startswith(prefix)), default=0) + 1


def overlapping(
    allocations: Iterable[Allocation], test: bool, first: int, last: int
) -> Allocation | None:
    """The first allocation of the space whose range shares a number with ``first..last``."""
    for allocation in allocations:
        if allocation.test == test and allocation.first <= last and first <= allocation.last:
            return allocation
    return None


def append_allocations(root: Path, allocations: Iterable[Allocation]) -> Path:
    """Append lines at the end of the ledger (one atomic rewrite) and return its path."""
    path = root / ALLOCATIONS_FILE
    old = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if old and not old.endswith("\n"):
        old += "\n"
    write_atomic(path, old + "".join(a.text() + "\n" for a in allocations))
    return path


def from_record(
    data: Mapping[str, Any], run: str = "-", at: str = "", by: str = ""
) -> Allocation | None:
    """The allocation a record describes (None for a record that reserved no numbers)."""
    used = (data.get("sequences") or {}).get(data.get("step")) or {}
    if not used:
        return None
    outputs = tuple((data.get("datasets") or {}).get("outputs", {}).values())
    return Allocation(
        str(data["id"]),
        bool(data.get("test")),
        int(used["first"]),
        int(used["last"]),
        outputs,
        run,
        at,
        by,
    )


def allocation_findings(root: Path, tag_dirs: dict[str, Path]) -> list[Finding]:
    """The ledger's own problems, and the ledger against the records of the tags given (name ->
    directory): a listed submission whose record is gone, a record the ledger does not list or
    lists differently, a damaged record.

    The ledger is checked whole on every run (one small file). A record found to agree with
    its line is not read again while its content (sha256) and that line stay the same
    (:class:`_Agreed`): a submit checks a tag with a long history before every submission, and
    reading and comparing 400 records cost 15 ms of it."""
    from shrek.core.layout import SUBMISSIONS_DIR, TAGS_DIR
    from shrek.core.lifecycle import voided
    from shrek.core.records import record_files, record_name

    allocations, findings = read_allocations(root)
    findings.extend(check_allocations(allocations, voided(root / TAGS_DIR)[0]))
    kept = (root / ALLOCATIONS_FILE).exists()  # a registry from before the ledger lists none
    top = len(os.fspath(root)) + 1
    present: dict[str, list[tuple[Path, str]]] = {}  # tag -> its record files, and as relative
    for name, tag_dir in tag_dirs.items():
        if (tag_dir / SUBMISSIONS_DIR).is_dir():  # most tags of a registry: nothing submitted
            files = record_files(tag_dir)
            present[name] = [(p, os.fspath(p)[top:].replace(os.sep, "/")) for p in files]
    listed: dict[str, Allocation] = {}
    found = {relative for files in present.values() for _, relative in files}
    for allocation in allocations:
        listed.setdefault(allocation.submission, allocation)
        owner = tag_dirs.get(allocation.tag)
        if owner is None:
            continue
        relative = (
            f"{os.fspath(owner)[top:].replace(os.sep, '/')}/{SUBMISSIONS_DIR}/"
            f"{allocation.step}/{record_name(allocation.number)}.yaml"
        )
        if relative not in found:
            findings.append(
                Finding(
                    ALLOCATIONS_FILE,
                    allocation.line,
                    1,
                    f"{allocation.submission} is allocated here but its record {relative} is "
                    "missing",
                    f"restore the record from git (git log --all -- {relative}); records are "
                    "never deleted",
                )
            )
    if present:  # most tags of a registry have no records: nothing more to open
        findings.extend(_records_against(root, tag_dirs, present, listed if kept else None))
    return findings


def _records_against(
    root: Path,
    tag_dirs: dict[str, Path],
    present: dict[str, list[tuple[Path, str]]],
    listed: dict[str, Allocation] | None,
) -> list[Finding]:
    """Each record of ``present`` (tag -> its files) against its ledger line; those known to
    agree (:class:`_Agreed`) are not read."""
    from shrek.core.records import record_digest

    findings: list[Finding] = []
    agreed = _Agreed(root, listed, [tag_dirs[name] for name in present])
    for name, files in present.items():
        unknown = []
        for path, relative in files:
            digest = record_digest(path)
            if not agreed.known(relative, digest):
                unknown.append((path, relative, digest))
        for path, relative, digest, data, problems in _read(tag_dirs[name], unknown):
            if data is not None:
                problems = _against_ledger(relative, path, data, agreed.listed)
                if not problems:
                    agreed.add(relative, digest, data)
            findings.extend(problems)
    agreed.save()
    return findings


def _read(
    tag_dir: Path, unknown: list[tuple[Path, str, str]]
) -> Iterable[tuple[Path, str, str, Mapping[str, Any] | None, list[Finding]]]:
    """The data of the records not known to agree (or why one is damaged): through the
    checked-records cache when many are new (a first check), else each parsed on its own."""
    from shrek.core.records import checked_record, load_records

    if len(unknown) > _MANY_NEW:
        try:
            loaded = {r.path: r.data for r in load_records(tag_dir)}
            found: list[tuple[Path, str, str, Mapping[str, Any] | None, list[Finding]]] = [
                (p, rel, digest, loaded[p], []) for p, rel, digest in unknown
            ]
        except (ShrekError, KeyError):  # one is damaged (or changed meanwhile): each alone
            pass
        else:
            yield from found
            return
    for path, relative, digest in unknown:
        try:
            yield path, relative, digest, checked_record(path, relative), []
        except ShrekError as error:
            yield (
                path,
                relative,
                digest,
                None,
                error.findings or [Finding(relative, 0, 0, error.message)],
            )


_MANY_NEW = 16  # more new records than this: read through the checked-records cache


class _Agreed:
    """Records found to agree with the ledger, kept in ``.shrek/cache/allocations.json``:
    ``"<path> <sha256>"`` -> [submission, its ledger line's space, range and outputs] (or
    nothing, for a record the ledger does not hold: a test's). One is trusted again only while
    that line says the same, and only by the SHREK code and record schema that checked it. The
    cache is local working state; a read-only checkout checks every time."""

    FILE = "cache/allocations.json"
    VERSION = 1

    def __init__(
        self, root: Path, listed: dict[str, Allocation] | None, checking: list[Path]
    ) -> None:
        from shrek.core import schema
        from shrek.core.cachekey import code_fingerprint, read_cache
        from shrek.core.layout import STATE_DIR

        self.listed = listed
        self.path = root / STATE_DIR / self.FILE
        self.seed = f"{code_fingerprint()} {schema.fingerprint('submission')}"
        cached = read_cache(self.path, self.VERSION)
        entries = cached.get("agreed") if cached.get("seed") == self.seed else None
        self.before: dict[str, Any] = entries if isinstance(entries, dict) else {}
        # what is known of the tags being checked is kept only as far as they hold it now
        top = len(os.fspath(root)) + 1
        tags = {os.fspath(d)[top:].replace(os.sep, "/") for d in checking}
        self.after = {
            k: v for k, v in self.before.items() if "/".join(k.split("/", 2)[:2]) not in tags
        }

    def known(self, relative: str, digest: str) -> bool:
        if self.listed is None or not digest:
            return False
        key = f"{relative} {digest}"
        entry = self.before.get(key)
        if not isinstance(entry, list) or not entry:
            return False
        if entry[0] is not None:  # the line it agreed with must say the same
            line = self.listed.get(str(entry[0]))
            if line is None or _line_print(line) != entry[1:]:
                return False
        self.after[key] = entry
        return True

    def add(self, relative: str, digest: str, data: Mapping[str, Any]) -> None:
        if self.listed is None or not digest:
            return
        allocation = from_record(data)
        if allocation is None or allocation.test:
            self.after[f"{relative} {digest}"] = [None]
        else:
            line = self.listed[allocation.submission]
            self.after[f"{relative} {digest}"] = [allocation.submission, *_line_print(line)]

    def save(self) -> None:
        if self.after == self.before or self.listed is None:
            return
        text = json.dumps({"version": self.VERSION, "seed": self.seed, "agreed": self.after})
        with suppress(OSError):
            write_atomic(self.path, text)


def _line_print(line: Allocation) -> list[Any]:
    """What of a ledger line a record is compared with (:func:`_against_ledger`)."""
    return [line.space, line.first, line.last, list(line.outputs)]


def _against_ledger(
    relative: str, path: Path, data: Mapping[str, Any], listed: dict[str, Allocation] | None
) -> list[Finding]:
    restore = "records are written by SHREK only: restore the record from git"
    submission = str(data.get("id", ""))
    expected = f"{path.parent.parent.parent.name}/{path.parent.name}/{path.stem}"
    if submission != expected:
        return [Finding(relative, 0, 0, f"the record says it is {submission}", restore)]
    allocation = from_record(data)
    if listed is None or allocation is None or allocation.test:
        return []  # a test's numbers are its own (kept by its records, never in the ledger)
    entry = listed.get(submission)
    if entry is None:
        return [
            Finding(
                relative,
                0,
                0,
                f"{submission} is not in {ALLOCATIONS_FILE}: its numbers could be handed out again",
                f"restore {ALLOCATIONS_FILE} from git (every submission appends its line there)",
            )
        ]
    differences = [
        f"{what} {mine} (the ledger: {theirs})"
        for what, mine, theirs in (
            ("space", allocation.space, entry.space),
            ("sequences", f"{allocation.first}-{allocation.last}", f"{entry.first}-{entry.last}"),
            ("outputs", ",".join(allocation.outputs) or "-", ",".join(entry.outputs) or "-"),
        )
        if mine != theirs
    ]
    if not differences:
        return []
    return [
        Finding(
            relative,
            0,
            0,
            f"the record differs from its line in {ALLOCATIONS_FILE}:{entry.line}: "
            + "; ".join(differences),
            restore,
        )
    ]


def registry_allocations(registry: Registry) -> list[Allocation]:
    """Every allocation of the registry: its ledger, or — for a registry from before the
    ledger — what its records reserved (the next submission writes them into a new ledger).
    A damaged ledger is refused earlier, by validation."""
    allocations, _ = read_allocations(registry.root)
    if (registry.root / ALLOCATIONS_FILE).exists():
        return allocations
    return _from_records(registry)


def record_allocations(registry: Registry, records: Iterable[Mapping[str, Any]], run: str) -> Path:
    """Append the allocations of newly journalled production records (their data) of the
    submission ``run`` to the ledger, and return its path. The first time, the ledger starts
    with every earlier production record's."""
    new = [a for a in (_allocation_of(data, run) for data in records) if a is not None]
    ids = {a.submission for a in new}
    earlier = []
    if not (registry.root / ALLOCATIONS_FILE).exists():
        earlier = [a for a in _from_records(registry) if a.submission not in ids]
    return append_allocations(registry.root, earlier + new)


def _allocation_of(data: Mapping[str, Any], run: str = "") -> Allocation | None:
    submitted = data.get("submitted") or {}
    run = run or str((data.get("ids") or {}).get("request") or "-")
    return from_record(data, run, str(submitted.get("at", "")), str(submitted.get("by", "")))


def _from_records(registry: Registry) -> list[Allocation]:
    from shrek.core.records import load_records

    found = []
    for name in registry.tag_names():
        for record in load_records(registry.tag_dir(name)):
            allocation = _allocation_of(record.data)
            if allocation is not None and not allocation.test:
                found.append(allocation)
    return sorted(found, key=lambda a: (a.at, a.submission))
