"""The append-only files checked against git history: ``shrek verify`` and ``review --base``.

The label ledger, the submission ledger and the submission records are only ever appended to:
a ledger gains lines at its end; a record keeps what it was given at its journal (its
submission, numbers, datasets, commands, who and when) and its history only grows. ``validate``
sees one checkout and cannot tell a deleted ledger line from one never written; git can. Each
committed version (``verify``: every version in HEAD's first-parent history; ``review --base``:
the versions at the pull request's merge base) is compared with the working tree:

- every entry line of a committed ledger is still in the ledger (deleted or edited lines are
  named at their line, with the ``git show`` that restores them);
- every committed record still exists, its fixed fields are unchanged, its ``ids`` keep their
  values, and its history begins with the committed history (a state changed by hand, or an
  entry removed, is named);
- every committed lifecycle event (an invalidation, a supersession) still exists, unchanged.
"""

from __future__ import annotations

from fnmatch import fnmatch
from typing import Any

from shrek.core.allocations import ALLOCATIONS_FILE
from shrek.core.layout import LIFECYCLE_DIR, TAGS_DIR
from shrek.core.ledger import LEDGER_FILE
from shrek.core.registry import Registry
from shrek.core.yamlio import parse_yaml
from shrek.errors import Finding
from shrek.git import GitRepo

LEDGERS = (LEDGER_FILE, ALLOCATIONS_FILE)
RECORDS = f"{TAGS_DIR}/*/submissions/*/*.yaml"
EVENTS = f"{TAGS_DIR}/*/{LIFECYCLE_DIR}/*.yaml"
# What a record is given when it is journalled (or, for ids, when the backend answers) and
# never changes afterwards. ``ids`` and ``submitted`` may gain keys later (the backend's task
# id; the journal's own commit, known only once it is made) but never change one.
FIXED = (
    "id",
    "tag",
    "step",
    "number",
    "test",
    "workflow",
    "overridden_guards",
    "again",
    "backend",
    "extends",
    "freeze_digest",
    "datasets",
    "commands",
    "sequences",
    "requirements",
)

Version = tuple[str, str, str]  # (commit, path relative to the work tree, blob)


def history_findings(registry: Registry) -> dict[str, list[Finding]]:
    """The working tree against every committed version of the append-only files: the
    findings by the tag they concern (a ledger line names its tag)."""
    repo = GitRepo(registry.root)
    if not repo.has_commits():
        return {}
    return _compare(registry, repo, repo.versions(_pathspecs(registry, repo)))


def base_findings(registry: Registry, base: str) -> dict[str, list[Finding]]:
    """The working tree against the append-only files as they were where the pull request
    started (the merge base of ``base`` and HEAD)."""
    repo = GitRepo(registry.root)
    start = repo.merge_base(base)
    prefix = repo.prefix_of(registry.root)
    files = repo.tree_blobs(start, [prefix + p for p in (*LEDGERS, TAGS_DIR)])
    wanted = [
        v
        for v in files
        if fnmatch(v[1], prefix + RECORDS)
        or fnmatch(v[1], prefix + EVENTS)
        or v[1][len(prefix) :] in LEDGERS
    ]
    return _compare(registry, repo, wanted)


def _pathspecs(registry: Registry, repo: GitRepo) -> list[str]:
    prefix = repo.prefix_of(registry.root)
    return [prefix + p for p in (*LEDGERS, RECORDS, EVENTS)]


def _compare(
    registry: Registry, repo: GitRepo, versions: list[Version]
) -> dict[str, list[Finding]]:
    contents = repo.blobs([blob for _, _, blob in versions])
    prefix = repo.prefix_of(registry.root)
    findings: list[tuple[str, Finding]] = []
    reported: set[tuple[str, str]] = set()
    current_ledgers = {name: _entries(_read(registry, name)) for name in LEDGERS}
    current_records: dict[str, dict[str, Any] | None] = {}
    for commit, path, blob in versions:
        relative = path[len(prefix) :] if path.startswith(prefix) else path
        text = contents[blob].decode("utf-8", errors="replace")
        if relative in LEDGERS:
            now = current_ledgers[relative]
            moved = _reordered(_entries(text), now)
            if moved and (relative, "order") not in reported:
                reported.add((relative, "order"))
                tag = moved[1].split()[1 if relative == LEDGER_FILE else 0].split("/")[0]
                findings.append((tag, _reordered_line(relative, *moved, commit, path)))
            for line, entry in _entries(text).items():
                if entry not in now.values() and (relative, entry) not in reported:
                    reported.add((relative, entry))
                    fields = entry.split()
                    tag = fields[1] if relative == LEDGER_FILE and len(fields) > 1 else fields[0]
                    tag = tag.split("/")[0]
                    findings.append((tag, _lost_line(relative, line, entry, commit, path)))
            continue
        tag = relative.split("/")[1]
        if fnmatch(relative, EVENTS):
            if text != _read(registry, relative) and (relative, "event") not in reported:
                reported.add((relative, "event"))
                findings.append((tag, _changed_event(relative, commit, path)))
            continue
        if relative not in current_records:
            current_records[relative] = _record(_read(registry, relative), relative)
        findings.extend(
            (tag, finding)
            for finding in _record_findings(
                relative, commit, path, _record(text, relative), current_records[relative]
            )
        )
    by_tag: dict[str, list[Finding]] = {}
    seen: set[tuple[str, str]] = set()
    for tag, finding in findings:  # a damage seen against many versions is named once
        key = (finding.file, finding.message.split(" (committed in")[0])
        if key not in seen:
            seen.add(key)
            by_tag.setdefault(tag, []).append(finding)
    return by_tag


def _reordered(committed: dict[int, str], now: dict[int, str]) -> tuple[int, str] | None:
    """The first current line that comes before a line it followed when committed (a merge
    may interleave two sides' new lines, but never moves a committed one): (line, entry)."""
    where = {entry: line for line, entry in now.items()}
    last = 0
    for _, entry in sorted(committed.items()):
        line = where.get(entry)
        if line is None:
            continue  # a lost line: named by itself
        if line < last:
            return line, entry
        last = line
    return None


def _reordered_line(relative: str, line: int, entry: str, commit: str, path: str) -> Finding:
    return Finding(
        relative,
        line,
        1,
        f"the line {entry!r} was moved: it came later when committed in {commit[:12]}; "
        f"{relative} is append-only and its order is the order of issue",
        f"restore the order as committed (git show {commit[:12]}:{path}), keeping lines "
        "added since at the end",
    )


def freeze_findings(registry: Registry) -> dict[str, list[Finding]]:
    """A submitted tag's freeze edited by hand, by tag: ``freeze.yaml`` deleted (the tag
    silently became a draft while its submissions name a freeze digest), or last written by
    a commit that is not a ``shrek freeze`` of the person ``frozen.by`` names (forged)."""
    from shrek.core.freeze import read_freeze
    from shrek.core.layout import FREEZE_FILE
    from shrek.core.records import load_records

    repo = GitRepo(registry.root)
    writers = _freeze_writers(repo, repo.prefix_of(registry.root)) if repo.has_commits() else {}
    found: dict[str, list[Finding]] = {}
    for name in registry.tag_names():
        file = f"{TAGS_DIR}/{name}/{FREEZE_FILE}"
        digests = sorted(
            {
                str(r.data["freeze_digest"])
                for r in load_records(registry.tag_dir(name))
                if not r.test and r.data.get("freeze_digest")
            }
        )
        frozen, problems = read_freeze(registry, name)
        if problems:
            continue  # validate and verify name a damaged freeze.yaml already
        if frozen is None:
            if digests:
                found.setdefault(name, []).append(
                    Finding(
                        file,
                        0,
                        0,
                        f"{FREEZE_FILE} is missing, but the tag was submitted with freeze "
                        f"digest {digests[0]}: without it the tag reads as a draft",
                        f"restore it from git (git log -- {file} names the commit); a "
                        "submitted tag is never unfrozen",
                    )
                )
            continue
        by = str((frozen.get("frozen") or {}).get("by") or "")
        writer = writers.get(file)
        if writer is None:
            continue  # not committed yet: 'git status' shows it, submit refuses it
        author, subject = writer
        if author != by or not subject.startswith(f"shrek: freeze {name} "):
            found.setdefault(name, []).append(
                Finding(
                    file,
                    0,
                    0,
                    f"frozen.by says {by!r}, but {FREEZE_FILE} was last written by {author!r} "
                    f"in '{subject}', not by 'shrek freeze': edited by hand",
                    f"restore the freeze as 'shrek freeze' committed it (git log -- {file}); "
                    "a frozen tag is immutable",
                )
            )
    return found


def hand_edit_findings(registry: Registry) -> dict[str, list[Finding]]:
    """Records changed by a commit SHREK did not make, by tag: SHREK writes every record and
    commits it at once, so a ``jobs.done`` raised by hand and committed (which keeps every
    other rule: history, fixed fields) still shows as the commit that made it."""
    repo = GitRepo(registry.root)
    if not repo.has_commits():
        return {}
    prefix = repo.prefix_of(registry.root)
    found: dict[str, list[Finding]] = {}
    for relative, commits in _writers(repo, prefix, RECORDS).items():
        foreign = [(sha, subject) for sha, _, subject in commits if not _by_shrek(subject)]
        if foreign and not _voided(registry, relative):
            sha, subject = foreign[0]
            found.setdefault(relative.split("/")[1], []).append(
                Finding(
                    relative,
                    0,
                    0,
                    f"the record was changed by commit {sha[:12]} ('{subject}'), which SHREK "
                    "did not make: records are written by SHREK only",
                    f"restore it as SHREK last wrote it (git log -- {prefix}{relative}); "
                    "'shrek status' brings a record up to date",
                )
            )
    return found


def _voided(registry: Registry, relative: str) -> bool:
    """Whether the record is voided (``shrek void``: the repair of a double a hand merge
    made), or gone (named by the history check)."""
    from shrek.core.lifecycle import read_events

    data = _record(_read(registry, relative), relative)
    if not data:
        return True
    return (
        str(data.get("id")) in read_events(registry.root / TAGS_DIR / relative.split("/")[1]).voided
    )


def _by_shrek(subject: str) -> bool:
    return subject.startswith("shrek: ") or subject.startswith("Merge ")


def _writers(repo: GitRepo, prefix: str, pattern: str) -> dict[str, list[tuple[str, str, str]]]:
    """For each committed file matching ``pattern``: every commit that changed it, newest
    first, as (sha, author 'Name <email>', subject), from one ``git log``."""
    writers: dict[str, list[tuple[str, str, str]]] = {}
    for name, commits in repo.writers(f"{prefix}{pattern}").items():
        relative = name[len(prefix) :] if name.startswith(prefix) else name
        writers[relative] = commits
    return writers


def _freeze_writers(repo: GitRepo, prefix: str) -> dict[str, tuple[str, str]]:
    """For each committed freeze.yaml: (author, subject) of the last commit that changed it."""
    writers = _writers(repo, prefix, f"{TAGS_DIR}/*/freeze.yaml")
    return {relative: commits[0][1:] for relative, commits in writers.items()}


def _read(registry: Registry, relative: str) -> str | None:
    try:
        return (registry.root / relative).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _entries(text: str | None) -> dict[int, str]:
    """A ledger's entry lines by line number, blanks normalised (comments and conflict
    markers are not entries)."""
    entries = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "<<<<<<<", "=======", ">>>>>>>")):
            entries[number] = " ".join(stripped.split())
    return entries


def _record(text: str | None, file: str) -> dict[str, Any] | None:
    """A record's data under the YAML bounds (a pull request may carry a hostile one); None
    when there is no file, {} when it does not parse (validate names that)."""
    if text is None:
        return None
    document, _ = parse_yaml(text, file)
    data = document.data if document is not None else None
    return data if isinstance(data, dict) else {}


def _changed_event(relative: str, commit: str, path: str) -> Finding:
    return Finding(
        relative,
        0,
        0,
        f"the lifecycle event was changed or deleted after it was committed (in {commit[:12]})",
        f"restore it (git checkout {commit[:12]} -- {path}); events are append-only: a new "
        "decision is a new event (shrek invalidate, shrek supersede)",
    )


def _lost_line(relative: str, line: int, entry: str, commit: str, path: str) -> Finding:
    what = "label" if relative == LEDGER_FILE else "allocation"
    return Finding(
        relative,
        line,
        1,
        f"the {what} line {entry!r} (committed in {commit[:12]}) was deleted or edited: "
        f"{relative} is append-only",
        f"restore the line as committed (git show {commit[:12]}:{path}); labels and "
        "numbers are never reused",
    )


def _record_findings(
    relative: str,
    commit: str,
    path: str,
    was: dict[str, Any] | None,
    now: dict[str, Any] | None,
) -> list[Finding]:
    restore = (
        f"restore it (git checkout {commit[:12]} -- {path}); records are written by SHREK only"
    )
    where = f"(committed in {commit[:12]})"
    if was is None or not was:
        return []
    if now is None:
        return [Finding(relative, 0, 0, f"the record was deleted {where}", restore)]
    problems = [
        f"'{key}' was changed after it was written"
        for key in FIXED
        if key in was and now.get(key) != was[key]
    ]
    for part in ("ids", "submitted"):
        was_part, now_part = was.get(part) or {}, now.get(part) or {}
        problems += [
            f"{part}.{key} was changed after it was written"
            for key, value in was_part.items()
            if value is not None and (not isinstance(now_part, dict) or now_part.get(key) != value)
        ]
    old_history, new_history = was.get("history") or [], now.get("history") or []
    if not isinstance(new_history, list) or new_history[: len(old_history)] != old_history:
        problems.append("its history was rewritten (it may only grow)")
    elif (
        new_history
        and isinstance(new_history[-1], dict)
        and now.get("state") != new_history[-1].get("state")
    ):
        problems.append(
            f"its state '{now.get('state')}' is not the last state of its history "
            f"('{new_history[-1].get('state')}'): changed by hand"
        )
    return [Finding(relative, 0, 0, f"{p} {where}", restore) for p in problems]


def team_findings(registry: Registry) -> dict[str, list[Finding]]:
    """What a shared registry must never hold, by the tag concerned: a label, submission
    number, sequence range or dataset name issued twice (and not voided), and a record whose
    journal or registry commit the production branch cannot reach (history rewritten after a
    submission, e.g. by ``git pull --rebase`` of a journal SHREK did not publish)."""
    from shrek.core.allocations import check_allocations, read_allocations
    from shrek.core.ledger import check_ledger, read_ledger
    from shrek.core.lifecycle import voided
    from shrek.core.records import load_records
    from shrek.ops.remote import shared

    found: dict[str, list[Finding]] = {}
    void_submissions, void_tags = voided(registry.tags_dir)
    entries, _ = read_ledger(registry.root)
    by_line = {e.line: e.tag for e in entries}
    for finding in check_ledger(entries, registry.prefix, void_tags):
        if "allocated twice" in finding.message:
            found.setdefault(by_line.get(finding.line, ""), []).append(finding)
    allocations, _ = read_allocations(registry.root)
    by_line = {a.line: a.tag for a in allocations}
    for finding in check_allocations(allocations, void_submissions):
        found.setdefault(by_line.get(finding.line, ""), []).append(finding)
    side = shared(registry)
    reference = (side.repo.rev(side.tracking) if side.remote else None) or side.local
    if reference is None:
        return found
    reachable = side.repo.reachable(reference)
    where = f"{side.remote}/{side.branch}" if side.remote else side.branch
    for name in registry.tag_names():
        for record in load_records(registry.tag_dir(name)):
            if record.test:
                continue
            submitted = record.data.get("submitted") or {}
            for key in ("journal_commit", "registry_commit"):
                commit = str(submitted.get(key) or "")
                if commit and commit not in reachable:
                    found.setdefault(name, []).append(
                        Finding(
                            registry.relative(record.path),
                            0,
                            0,
                            f"its {key.replace('_', ' ')} {commit[:12]} is not in the history of "
                            f"{where}: the history was rewritten after the submission (a "
                            "rebase, an amend, a reset), so its jobs name a commit nobody can "
                            "find",
                            f"restore that commit onto {side.branch} from the reflog of the "
                            f"clone that made it (git reflog; git merge {commit[:12]}), then "
                            "push; never rebase or amend SHREK's commits",
                        )
                    )
    return found
