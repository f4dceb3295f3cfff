"""Creating tags (``shrek tag new``) and describing them (``tag list``, ``tag show``)."""

from __future__ import annotations

import getpass
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shrek.core import ledger
from shrek.core.freeze import read_freeze
from shrek.core.labels import Label, LabelError, next_label, parse_label, skipped_by
from shrek.core.layout import JOB_DIR, SUBMISSIONS_DIR, TAG_FILE
from shrek.core.lifecycle import Lifecycle, read_events, tag_state
from shrek.core.model import step_files
from shrek.core.oneline import one_line
from shrek.core.records import Record, load_records
from shrek.core.registry import Registry
from shrek.core.taint import Taints, registry_taints
from shrek.core.validate import validate
from shrek.core.yamlio import dump_yaml, load_yaml, write_atomic
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.ops import remote
from shrek.ops.pending import change, settle
from shrek.ops.readme import write_readme
from shrek.ops.status import add_sizes

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE_META = "template.yaml"
# What a tag derived with --from does not inherit: its parent's freeze, records and summary.
NOT_INHERITED = {TAG_FILE, "freeze.yaml", "inputs", "submissions", "README.md"}


def templates() -> list[str]:
    return sorted(p.name for p in TEMPLATES_DIR.iterdir() if (p / TEMPLATE_META).is_file())


@dataclass(frozen=True)
class NewTag:
    name: str
    directory: Path
    commit: str


@dataclass(frozen=True)
class TagRequest:
    """What ``shrek tag new`` asks for: one field per option, all optional."""

    label: str | None = None  # claimed by hand; else the next free label of ``year``
    build: str | None = None  # else the parent's or template's
    year: int | None = None
    test: bool = False  # a test label (sT…)
    parent: str | None = None  # --from: start from this tag's steps
    template: str | None = None  # or from one of SHREK's templates
    title: str | None = None
    owner: str | None = None
    steps_from: Path | None = None  # a directory of steps and resources (shrek import)
    what: str = ""  # said in the commit (imported from …)
    skip_to: bool = False  # a claimed label may skip unused labels


def new_tag(registry: Registry, request: TagRequest) -> NewTag:
    """Allocate or claim a label, write ``tags/<label>-<build>/`` and commit it with the ledger.

    Nothing is left behind on failure: the tag is assembled in a staging directory, moved into
    place, and committed with the ledger whole or not at all (:mod:`shrek.ops.pending`: a
    failed or killed command's tag and ledger line are undone).
    """
    label, build, year, test = request.label, request.build, request.year, request.test
    parent, template, what = request.parent, request.template, request.what
    title, owner, skip_to = request.title, request.owner, request.skip_to
    if parent and template:
        raise ShrekError(
            "--from and --template both give the starting steps", "use one of them", ExitCode.USAGE
        )
    title = one_line(title, "--title") if title else None
    owner = one_line(owner, "--owner") if owner else None
    repo = GitRepo(registry.root)
    repo.check_identity()
    if repo.branch() is None:
        raise ShrekError(
            "HEAD is detached: a tag committed here is on no branch, and its label could be "
            "allocated again elsewhere",
            "make a branch first (git switch -c new-tag), or git switch to one",
            ExitCode.GIT,
        )
    with registry.lock("shrek tag new"):
        settle(registry, repo)  # a tag new stopped before its commit is undone first
        entries = _intact_ledger(registry) + _removed_from_ledger(registry, repo)
        source_dir, base = _starting_point(registry, parent, template)
        if request.steps_from is not None:
            source_dir = request.steps_from
        build = _known_build(registry, build or base.get("build"))
        side = remote.shared(registry, repo)
        chosen = _claimed_label(registry, side, entries, (label, skip_to), year, test, build)
        name = f"{chosen}-{build}"
        data: dict[str, Any] = {
            "label": str(chosen),
            "build": build,
            "title": title or base.get("title") or f"{chosen} production",
            "description": base.get("description", ""),
            "owner": owner or repo.user() or getpass.getuser(),
        }
        if parent:
            data["parent"] = base["name"]
        data["code"] = base.get("code", [])
        origin = (
            f" from {base['name']}" if parent else (f" (template {template})" if template else "")
        ) + (f" ({what})" if what else "")
        target = registry.tag_dir(name)
        if target.exists():
            raise ShrekError(
                f"tags/{target.name} already exists", "choose another label", ExitCode.CONFLICT
            )
        ledger_file = registry.root / ledger.LEDGER_FILE
        staging = registry.tags_dir / f".{name}.new"
        with change(registry, repo, f"shrek tag new {name}") as pending:
            pending.touches(staging, target, ledger_file)
            _assemble(registry, target, staging, source_dir, data)
            ledger.append_entry(registry.root, data["label"], name, data["owner"])
            write_readme(registry, name)
            commit = pending.commit(
                f"shrek: new tag {name}{origin}\n\n{data['title']}", [target, ledger_file]
            )
    return NewTag(name, target, commit)


def _intact_ledger(registry: Registry) -> list[ledger.Entry]:
    """The ledger's entries; a ledger validation would report (unreadable lines, a label
    allocated twice, a malformed label) is refused rather than appended to and committed."""
    problems, by_label = ledger.ledger_findings(registry)
    if problems:
        raise ShrekError(
            "the label ledger is damaged, so no label can be allocated from it",
            "repair labels.ledger as shown (restore it from git), then re-run",
            ExitCode.INVALID,
            problems,
        )
    return sorted(by_label.values(), key=lambda e: e.line)


def _removed_from_ledger(registry: Registry, repo: GitRepo) -> list[ledger.Entry]:
    """Labels some committed version of the ledger holds and the working ledger lost (a line
    deleted with its tag directory): still taken, since a label is never reused."""
    if not repo.has_commits():
        return []
    path = repo.prefix_of(registry.root) + ledger.LEDGER_FILE
    versions = repo.versions([path])
    current = {e.label for e in ledger.read_ledger(registry.root)[0]}
    lost: dict[str, ledger.Entry] = {}
    for content in repo.blobs([blob for _, _, blob in versions]).values():
        for entry in ledger.parse_entries(content.decode("utf-8", errors="replace")):
            if entry.label not in current:
                lost.setdefault(entry.label, entry)
    return list(lost.values())


def _known_build(registry: Registry, build: str | None) -> str:
    build = build or registry.default_build
    if not build:
        raise ShrekError(
            f"no build given, and shrek.yaml names no default_build (this registry knows: "
            f"{', '.join(registry.builds)})",
            f"add --build, e.g. --build {next(iter(registry.builds), 'mdc2.7')}, or set "
            "default_build in shrek.yaml",
            ExitCode.USAGE,
        )
    if build not in registry.builds:
        raise ShrekError(
            f"unknown build '{build}' (this registry knows: {', '.join(registry.builds)})",
            "add the build under 'builds:' in shrek.yaml first",
            ExitCode.USAGE,
        )
    return build


def _starting_point(
    registry: Registry, parent: str | None, template: str | None
) -> tuple[Path | None, dict[str, Any]]:
    """Where the steps come from, and the tag.yaml fields to inherit."""
    if parent:
        name = registry.resolve(parent)
        document, problems = load_yaml(registry.tag_dir(name) / TAG_FILE, f"tags/{name}/tag.yaml")
        if document is None or not isinstance(document.data, dict):
            raise ShrekError(
                f"cannot read the parent tag {name}",
                f"run 'shrek validate {name}'",
                ExitCode.INVALID,
                problems,
            )
        return registry.tag_dir(name), {**document.data, "name": name}
    if template:
        if template not in templates():
            raise ShrekError(
                f"no template '{template}'",
                "templates: " + ", ".join(templates()),
                ExitCode.NOT_FOUND,
            )
        meta, _ = load_yaml(TEMPLATES_DIR / template / TEMPLATE_META, TEMPLATE_META)
        return TEMPLATES_DIR / template, dict(meta.data if meta else {})
    return None, {}


def _claimed_label(
    registry: Registry,
    side: remote.Shared,
    entries: list[ledger.Entry],
    claim: tuple[str | None, bool],
    year: int | None,
    test: bool,
    build: str,
) -> Label:
    """The label, claimed on the registry's remote (``refs/shrek/labels/<label>``) before
    anything is written: labels the remote's ledger or claims hold are taken; a claim another
    clone made first means the next free one (or, for a label given by hand, a refusal).
    Without a remote the clone's own ledger decides, as it always did."""
    if side.remote is None:
        return _choose_label(registry, entries, claim, year, test)
    try:
        claims = remote.claimed_labels(side)
        known = {e.label for e in entries}
        entries = entries + [
            e for e in ledger.parse_entries(remote.remote_ledger(side)) if e.label not in known
        ]
    except ShrekError as error:
        if not test:
            raise ShrekError(
                f"{error.message}; a production label is final only once it is claimed there",
                "try again when the remote can be reached (test labels, --test, work offline)",
                error.code,
            ) from error
        return _choose_label(registry, entries, claim, year, test)
    by = side.repo.user() or getpass.getuser()
    for _attempt in range(remote.MAX_TRIES):
        claimed = [
            ledger.Entry(name, "a tag of another clone (claimed on the remote)", "", "", 0)
            for name in claims
            if name not in {e.label for e in entries}
        ]
        chosen = _choose_label(registry, entries + claimed, claim, year, test)
        if remote.claim_label(side, str(chosen), f"{chosen}-{build}", by):
            return chosen
        claims[str(chosen)] = ""  # another clone claimed it first: the next free one
    raise ShrekError(
        f"could not claim a label on {side.remote} after {remote.MAX_TRIES} tries",
        "run the command again",
        ExitCode.REMOTE,
    )


def _choose_label(
    registry: Registry,
    entries: list[ledger.Entry],
    claim: tuple[str | None, bool],
    year: int | None,
    test: bool,
) -> Label:
    """The next free label, or ``claim``'s (label, may it skip unused labels?) if free."""
    label, skip_to = claim
    taken = ledger.taken_labels(entries, registry.prefix)
    existing = {n.partition("-")[0]: n for n in registry.tag_names()}
    if label is None:
        if year is None:
            year = datetime.now(UTC).year % 100
        chosen = next_label(taken, registry.prefix, year, test=test)
        while str(chosen) in existing:  # a directory made by hand, outside the ledger
            taken.append(chosen)
            chosen = next_label(taken, registry.prefix, year, test=test)
        return chosen
    try:
        chosen = parse_label(label, registry.prefix)
    except LabelError as exc:
        raise ShrekError(
            str(exc),
            "or let SHREK allocate one: shrek tag new --year YY --build BUILD",
            ExitCode.USAGE,
        ) from exc
    if year is not None and chosen.year != year:
        raise ShrekError(
            f"label {label} is not of year {year:02d}", "drop --year or the label", ExitCode.USAGE
        )
    if test and not chosen.test:
        raise ShrekError(
            f"{label} is a production label, not a test label",
            f"test labels look like {registry.prefix}{chosen.year:02d}Ta",
            ExitCode.USAGE,
        )
    by_label = {e.label: e for e in entries}
    if label in by_label:
        entry = by_label[label]
        raise ShrekError(
            f"label {label} was already allocated to {entry.tag}"
            + (f" on {entry.allocated_at}" if entry.allocated_at else "")
            + " (labels are never reused)",
            f"allocate the next free one: shrek tag new --year {chosen.year:02d} --build BUILD",
            ExitCode.CONFLICT,
        )
    if label in existing:
        raise ShrekError(
            f"label {label} is taken by tags/{existing[label]}",
            "choose another label",
            ExitCode.CONFLICT,
        )
    skipped = skipped_by(taken, chosen)
    if skipped and not skip_to:
        span = str(skipped[0]) + (f" to {skipped[-1]}" if len(skipped) > 1 else "")
        raise ShrekError(
            f"claiming {label} would skip {len(skipped)} unused label(s) of year "
            f"{chosen.year:02d} ({span}): 'next free' continues after the highest label ever "
            "allocated, so it would never allocate them",
            f"give the next free label, {skipped[0]}, instead; or claim {label} on purpose "
            f"with --skip-to {label}",
            ExitCode.USAGE,
        )
    return chosen


def _assemble(
    registry: Registry, target: Path, staging: Path, source: Path | None, data: dict[str, Any]
) -> None:
    """Build the tag in ``staging`` and move it into place whole."""
    registry.tags_dir.mkdir(exist_ok=True)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        if source is not None:
            for entry in sorted(source.iterdir()):
                if entry.name in NOT_INHERITED or entry.name == TEMPLATE_META:
                    continue
                if entry.is_dir():
                    shutil.copytree(entry, staging / entry.name, symlinks=True)
                else:
                    shutil.copy2(entry, staging / entry.name, follow_symlinks=False)
        (staging / JOB_DIR).mkdir(exist_ok=True)
        if not any((staging / JOB_DIR).iterdir()):
            (staging / JOB_DIR / ".gitkeep").touch()
        header = (
            "# yaml-language-server: $schema=../../schemas/tag.schema.json\n"
            "# SHREK production tag. Schema: schemas/tag.schema.json\n"
        )
        write_atomic(staging / TAG_FILE, dump_yaml(data, header))
        os.chmod(staging, 0o755)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


# -- describing tags ------------------------------------------------------------------------


def overview(
    registry: Registry,
    name: str,
    *,
    records: list[Record] | None = None,
    lifecycle: Lifecycle | None = None,
    taints: Taints | None = None,
) -> dict[str, Any]:
    """One row of ``tag list``: cheap (reads tag.yaml, counts step files, looks at the state;
    the records and events are read here unless the caller has them; ``taints``, the
    registry's, once for every row)."""
    directory = registry.tag_dir(name)
    document, _ = load_yaml(directory / TAG_FILE, f"tags/{name}/{TAG_FILE}")
    data = document.data if document is not None and isinstance(document.data, dict) else {}
    label, _, build = name.partition("-")
    lifecycle = lifecycle if lifecycle is not None else read_events(directory)
    return {
        "name": name,
        "label": data.get("label", label),
        "build": data.get("build", build),
        "title": data.get("title", ""),
        "steps": len([p for p in step_files(directory) if p.suffix == ".yaml"]),
        "state": tag_state(directory, records, lifecycle),
        "invalid": len(lifecycle.invalid_submissions),
        "tainted": (taints or Taints()).count(name),
    }


def details(registry: Registry, name: str) -> dict[str, Any]:
    """Everything ``tag show`` prints about one tag."""
    report = validate(registry, [name])
    tag, findings = report.tags.get(name), report.findings
    frozen, _ = read_freeze(registry, name)
    directory = registry.tag_dir(name)
    records = load_records(directory) if (directory / SUBMISSIONS_DIR).is_dir() else []
    lifecycle = read_events(directory)
    taints = registry_taints(registry.tags_dir)
    info = overview(registry, name, records=records, lifecycle=lifecycle, taints=taints)
    entries, _ = ledger.read_ledger(registry.root)
    allocation = next((e for e in entries if e.label == info["label"]), None)
    info.update(
        {
            "directory": f"tags/{name}",
            "valid": not findings,
            "problems": len(findings),
            "allocated": (
                {"at": allocation.allocated_at, "by": allocation.by} if allocation else None
            ),
            "freeze": (
                {
                    "digest": frozen["digest"],
                    **frozen["frozen"],
                    "code": {c["name"]: c["commit"] for c in frozen["code"]},
                    "inputs": {
                        i["dataset"]: {"files": i["files"], "bytes": i["bytes"]}
                        for i in frozen["inputs"]
                    },
                }
                if frozen
                else None
            ),
        }
    )
    info["submissions"] = submissions(registry, records, lifecycle, taints)
    info["lineage"] = {
        "parent": (tag.data.get("parent") if tag is not None else None) or "",
        "superseded_by": lifecycle.superseded_by,
        "supersedes": lifecycle.supersedes,
        "extensions": {s["id"]: s["extends"] for s in info["submissions"] if s["extends"]},
    }
    if tag is not None:
        info.update({k: tag.data.get(k) for k in ("description", "owner", "parent")})
        info["code"] = tag.data.get("code", [])
        info["setup"] = registry.builds.get(tag.build, {}).get("setup")
        info["step_details"] = [
            {
                "name": step.name,
                "description": step.description,
                "jobs": step.jobs,
                "inputs": [
                    {
                        "dataset": i.dataset,
                        "files_per_job": i.files_per_job,
                        "secondary": i.secondary,
                    }
                    for i in step.inputs
                ],
                "outputs": [f"{step.name}.{o.name}" for o in step.outputs],
                "parameters": step.parameters,
                "resources": step.resources,
                "resource_dir": step.resource_dir,
                "requirements": step.requirements,
            }
            for step in tag.steps.values()
        ]
    return info


def submissions(
    registry: Registry,
    records: list[Record],
    lifecycle: Lifecycle,
    taints: Taints | None = None,
    *,
    sizes: bool = True,
) -> list[dict[str, Any]]:
    """Every submission of the tag (``tag show``): state, sequence range, output datasets with
    their files, bytes and where they are, and whether it extends one or was invalidated
    (``sizes``: files and bytes asked of the catalogue; the site shows only what is
    committed)."""
    invalid = lifecycle.invalid_submissions
    rows = []
    for record in records:
        data = record.data
        sequences = data["sequences"][record.step]
        rucio = data["datasets"].get("rucio") or {}
        rows.append(
            {
                "id": str(data["id"]),
                "step": record.step,
                "number": record.number,
                "test": record.test,
                "state": record.state,
                "backend": record.backend,
                "sequences": {"first": sequences["first"], "last": sequences["last"]},
                "outputs": {
                    output: {
                        "dataset": dataset,
                        "files": None,
                        "bytes": None,
                        "where": _where(registry, record, dataset, rucio.get(output)),
                    }
                    for output, dataset in data["datasets"]["outputs"].items()
                },
                "extends": str(data.get("extends") or ""),
                "invalid": invalid.get(str(data["id"]), ""),
                "tainted": (taints or Taints()).of_record(record),
                "record": registry.relative(record.path),
            }
        )
    if sizes:
        add_sizes(registry, rows)
    return rows


def _where(registry: Registry, record: Record, dataset: str, published: str | None) -> str:
    if record.backend == "local":
        where = registry.relative(registry.store_dir / dataset)
        return where + (f"; Rucio {published}" if published else "")
    return f"PanDA output container (Rucio {dataset})"
