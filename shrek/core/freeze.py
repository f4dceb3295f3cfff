"""Freeze a tag (pin everything it depends on) and verify that nothing drifted since.

A freeze is a lock file beside the human-written tag (the DVC idea): ``freeze.yaml`` records
each code repository's ref resolved to a commit, the build's set-up line, every definition and
resource file with its size and sha256, and each external input dataset's file list (stored as
``inputs/<dataset>.files``). Its **digest** is over that content only — not who froze it, when,
from which commit or with which SHREK — so identical content always has the same digest, on any
machine and under any path. Verification recomputes the same content and names every
difference.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

from shrek.core import resources, schema
from shrek.core.datasets import Catalog, DatasetFile
from shrek.core.hashing import FileHash, sha256_bytes, sha256_file, sha256_files
from shrek.core.layout import FREEZE_FILE, JOB_DIR, TAG_FILE
from shrek.core.model import Tag
from shrek.core.progress import Progress, no_progress
from shrek.core.registry import Registry
from shrek.core.yamlio import load_yaml
from shrek.errors import ExitCode, Finding, ShrekError

INPUTS_DIR = "inputs"
HEADER = (
    "# yaml-language-server: $schema=../../schemas/freeze.schema.json\n"
    "# Written by 'shrek freeze': never edit. Schema: schemas/freeze.schema.json\n"
    "# The digest covers everything but 'frozen' (who, when, from which commit).\n"
)
DIGESTED = ("tag", "schemas", "build", "code", "definitions", "resources", "inputs")


class Drift(NamedTuple):
    """One difference between a tag's freeze and what it depends on now."""

    subject: str  # a path relative to the registry, or "code <name>", "build", "dataset <name>"
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


class Computed(NamedTuple):
    """A freeze's content (what the digest covers) and the input lists to store beside it."""

    content: dict[str, Any]
    lists: dict[str, str]  # path relative to the tag directory -> file text

    @property
    def digest(self) -> str:
        return content_digest(self.content)


def content_digest(content: dict[str, Any]) -> str:
    canonical = json.dumps(
        {k: content[k] for k in DIGESTED}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return "sha256:" + sha256_bytes(canonical.encode("utf-8"))


def list_text(files: list[DatasetFile]) -> str:
    """A dataset's frozen file list: sorted, one ``name size checksum`` per line."""
    return "".join(f"{f.name} {f.size} {f.checksum}\n" for f in sorted(files, key=lambda f: f.name))


def parse_list(text: str, file: str = "the frozen file list") -> dict[str, tuple[int, str]]:
    """``name size checksum`` lines; a damaged line is one ShrekError naming file and line."""
    entries = {}
    for number, line in enumerate(text.splitlines(), start=1):
        name, _, rest = line.rpartition(" ")
        name, _, size = name.rpartition(" ")
        if not name or not size.isdigit() or len(size) > 20 or not rest:
            raise ShrekError(
                f"{file}:{number}: not a 'name size checksum' line",
                "restore the list from git (shrek freeze writes it)",
                ExitCode.INVALID,
            )
        entries[name] = (int(size), rest)
    return entries


def read_list(path: Path, file: str) -> dict[str, tuple[int, str]]:
    """A frozen input list read from disk (see :func:`parse_list`)."""
    try:
        return parse_list(path.read_text(encoding="utf-8"), file)
    except UnicodeDecodeError as exc:
        raise ShrekError(
            f"{file}: not UTF-8 text", "restore the list from git", ExitCode.INVALID
        ) from exc


def list_path(dataset: str) -> str:
    return f"{INPUTS_DIR}/{dataset.replace('/', '%2F')}.files"


# -- computing -------------------------------------------------------------------------------


def definition_files(tag: Tag) -> list[Path]:
    job = tag.directory / JOB_DIR
    steps = sorted(job.glob("*.yaml")) if job.is_dir() else []
    return [tag.directory / TAG_FILE, *steps]


def resource_files(tag: Tag) -> list[resources.ResourceFile]:
    found: dict[str, resources.ResourceFile] = {}
    for step in tag.steps.values():
        for pattern in step.resources:
            files, problem = tag.expand(pattern, step.resource_dir)
            if problem:  # validation reports it; freezing refuses invalid tags before this
                raise ShrekError(f"{step.file}: {problem.message}", problem.fix)
            found.update((f.name, f) for f in files)
    return [found[name] for name in sorted(found)]


def _resolve(repo: dict[str, str]) -> str:
    from shrek.git import resolve_ref  # git is needed to freeze, not to validate

    try:
        return resolve_ref(repo["url"], repo["ref"])
    except ShrekError as error:
        error.message = f"code repository '{repo['name']}' (tag.yaml): {error.message}"
        raise


def hash_local_files(
    tag: Tag, *, progress: Progress = no_progress
) -> tuple[list[dict], list[dict]]:
    """Definitions and resources as ``{path, size, sha256}`` entries (no network needed)."""
    definitions = definition_files(tag)
    resource_list = resource_files(tag)
    loaded = _loaded_texts(tag)  # hashed as parsed, not read again
    read = [p for p in definitions if p not in loaded] + [r.path for r in resource_list]
    names = [p.relative_to(tag.directory).as_posix() for p in definitions] + [
        r.name for r in resource_list
    ]
    total = sum(os.path.getsize(p) for p in read)
    with progress(f"hashing {tag.name}", total) as advance:
        from_disk = iter(sha256_files(read, advance))
    hashes = [
        FileHash(len(loaded[p]), sha256_bytes(loaded[p])) if p in loaded else next(from_disk)
        for p in definitions
    ] + list(from_disk)
    entries = [
        {"path": n, "size": h.size, "sha256": h.sha256} for n, h in zip(names, hashes, strict=True)
    ]
    return entries[: len(definitions)], entries[len(definitions) :]


def _loaded_texts(tag: Tag) -> dict[Path, bytes]:
    """The definition files the tag was loaded from, as the bytes that were parsed (a UTF-8
    text encodes back to exactly the bytes it was decoded from)."""
    texts = {tag.directory / TAG_FILE: tag.document.text}
    texts.update(
        (tag.directory / JOB_DIR / f"{name}.yaml", step.document.text)
        for name, step in tag.steps.items()
    )
    return {path: text.encode("utf-8") for path, text in texts.items() if text is not None}


def compute(
    registry: Registry, tag: Tag, catalog: Catalog, *, progress: Progress = no_progress
) -> Computed:
    """Resolve and hash everything ``tag`` depends on, as it is now."""
    code = [
        {"name": repo["name"], "url": repo["url"], "ref": repo["ref"], "commit": _resolve(repo)}
        for repo in tag.data.get("code") or []
    ]
    definitions, resource_entries = hash_local_files(tag, progress=progress)
    inputs, lists = [], {}
    for dataset in tag.external_inputs():
        try:
            files = catalog.files(dataset)
        except ShrekError as error:
            users = [
                s.name for s in tag.steps.values() if any(i.dataset == dataset for i in s.inputs)
            ]
            error.message = f"input of {', '.join(users)}: {error.message}"
            raise
        if not files:
            raise ShrekError(
                f"input dataset '{dataset}' has no files",
                "register its files (shrek dataset add) or fix the input",
                ExitCode.INVALID,
            )
        text = list_text(files)
        path = list_path(dataset)
        lists[path] = text
        entry = {
            "dataset": dataset,
            "catalog": catalog.describe(),
            "files": len(files),
            "bytes": sum(f.size for f in files),
            "list": path,
            "sha256": sha256_bytes(text.encode("utf-8")),
        }
        did = catalog.did(dataset)
        if did:
            entry["did"] = did
        inputs.append(entry)
    build = registry.builds.get(tag.build, {})
    content = {
        "tag": tag.name,
        "schemas": {kind: schema.schema_version(kind) for kind in ("registry", "tag", "step")},
        "build": {"name": tag.build, "setup": build.get("setup", "")},
        "code": code,
        "definitions": definitions,
        "resources": resource_entries,
        "inputs": inputs,
    }
    return Computed(content, lists)


# -- reading a freeze ----------------------------------------------------------------------


def read_freeze(registry: Registry, name: str) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The tag's freeze.yaml (None when the tag is not frozen) and any problems with it."""
    path = registry.tag_dir(name) / FREEZE_FILE
    if not path.exists():
        return None, []
    document, findings = load_yaml(path, f"tags/{name}/{FREEZE_FILE}")
    if document is None:
        return None, findings
    problems = schema.check(document, "freeze")
    if problems:
        fix = "restore it from git (freeze.yaml is written by 'shrek freeze', never by hand)"
        return None, [Finding(f.file, f.line, f.column, f.message, fix) for f in problems]
    return document.data, findings


# -- comparing -------------------------------------------------------------------------------


def _files_drift(prefix: str, what: str, old: list[dict], new: list[dict]) -> list[Drift]:
    before = {e["path"]: e for e in old}
    after = {e["path"]: e for e in new}
    drifts = []
    for path in sorted(before.keys() | after.keys()):
        subject = f"{prefix}/{path}"
        if path not in after:
            drifts.append(
                Drift(
                    subject,
                    f"{what} removed since the freeze (was sha256 {before[path]['sha256']})",
                )
            )
        elif path not in before:
            drifts.append(
                Drift(subject, f"{what} added since the freeze (sha256 {after[path]['sha256']})")
            )
        elif before[path]["sha256"] != after[path]["sha256"]:
            drifts.append(
                Drift(
                    subject,
                    f"{what} changed: sha256 {before[path]['sha256']} -> {after[path]['sha256']}",
                )
            )
    return drifts


def sample(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _inputs_drift(tag_dir: Path, old: list[dict], computed: Computed) -> list[Drift]:
    drifts = []
    before = {e["dataset"]: e for e in old}
    after = {e["dataset"]: e for e in computed.content["inputs"]}
    for dataset in sorted(before.keys() | after.keys()):
        subject = f"dataset {dataset}"
        if dataset not in after:
            drifts.append(Drift(subject, "no longer an input of the tag"))
            continue
        if dataset not in before:
            drifts.append(Drift(subject, "became an input since the freeze"))
            continue
        if before[dataset]["sha256"] == after[dataset]["sha256"]:
            continue
        stored = tag_dir / before[dataset]["list"]
        shown = f"tags/{tag_dir.name}/{before[dataset]['list']}"
        old_files = read_list(stored, shown) if stored.exists() else {}
        new_files = parse_list(computed.lists[after[dataset]["list"]])
        gained = sorted(new_files.keys() - old_files.keys())
        lost = sorted(old_files.keys() - new_files.keys())
        changed = sorted(
            n for n in old_files.keys() & new_files.keys() if old_files[n] != new_files[n]
        )
        parts = []
        if gained:
            parts.append(f"gained {len(gained)} file(s): {sample(gained)}")
        if lost:
            parts.append(f"lost {len(lost)} file(s): {sample(lost)}")
        if changed:
            parts.append(f"{len(changed)} file(s) changed size or checksum: {sample(changed)}")
        drifts.append(Drift(subject, "; ".join(parts) or "file list changed"))
    return drifts


def compare(tag: Tag, frozen: dict[str, Any], computed: Computed) -> list[Drift]:
    """Every difference between ``frozen`` and the freshly ``computed`` content."""
    prefix = f"tags/{tag.name}"
    now = computed.content
    drifts = []
    if content_digest(frozen) != frozen["digest"]:
        drifts.append(
            Drift(
                f"{prefix}/{FREEZE_FILE}",
                "was edited by hand: its digest no longer matches its content",
            )
        )
    drifts += _files_drift(prefix, "definition", frozen["definitions"], now["definitions"])
    drifts += _files_drift(prefix, "resource", frozen["resources"], now["resources"])
    if frozen["build"] != now["build"]:
        drifts.append(
            Drift(
                "build",
                f"'{frozen['build']['name']}' set-up changed in "
                f"shrek.yaml: {frozen['build']['setup']!r} -> "
                f"{now['build']['setup']!r}",
            )
        )
    old_code = {c["name"]: c for c in frozen["code"]}
    for repo in now["code"]:
        old = old_code.pop(repo["name"], None)
        if old is None:
            drifts.append(Drift(f"code {repo['name']}", "repository added since the freeze"))
        elif (old["url"], old["ref"]) != (repo["url"], repo["ref"]):
            drifts.append(
                Drift(
                    f"code {repo['name']}",
                    f"now {repo['url']} @ {repo['ref']} (frozen: {old['url']} @ {old['ref']})",
                )
            )
        elif old["commit"] != repo["commit"]:
            drifts.append(
                Drift(
                    f"code {repo['name']}",
                    f"ref '{repo['ref']}' now points to {repo['commit']} (frozen: {old['commit']})",
                )
            )
    for name in old_code:
        drifts.append(Drift(f"code {name}", "repository removed since the freeze"))
    drifts += _inputs_drift(tag.directory, frozen["inputs"], computed)
    for entry in frozen["inputs"]:
        stored = tag.directory / entry["list"]
        if not stored.exists():
            drifts.append(Drift(f"{prefix}/{entry['list']}", "frozen file list is missing"))
        elif sha256_file(stored).sha256 != entry["sha256"]:
            drifts.append(
                Drift(
                    f"{prefix}/{entry['list']}",
                    "frozen file list was edited (its sha256 no longer matches freeze.yaml)",
                )
            )
    return drifts


def frozen_file_findings(tag: Tag, frozen: dict[str, Any]) -> list[Finding]:
    """Validation of a frozen tag: its definitions and resources must be exactly as frozen.

    Local files only (no network, no catalogue), so ``shrek validate`` stays fast and offline.
    """
    try:
        definitions, resource_entries = hash_local_files(tag)
    except ShrekError:
        return []  # an unresolvable resource is reported by the ordinary checks
    findings = []
    fix = (
        f"a frozen tag is immutable: restore the file from git, or create a new tag with "
        f"'shrek tag new --from {tag.label}'"
    )
    drifts = _files_drift(f"tags/{tag.name}", "definition", frozen["definitions"], definitions)
    if not tag.broken_steps:  # a step that did not load contributes no resources: skip
        drifts += _files_drift(
            f"tags/{tag.name}", "resource", frozen["resources"], resource_entries
        )
    for drift in drifts:
        findings.append(
            Finding(drift.subject, 0, 0, f"tag {tag.name} is frozen and this {drift.message}", fix)
        )
    for entry in frozen["inputs"]:  # the frozen input lists, small files: checked too
        listing = tag.directory / entry["list"]
        actual = sha256_file(listing).sha256 if listing.is_file() else None
        if actual != entry["sha256"]:
            findings.append(
                Finding(
                    f"tags/{tag.name}/{entry['list']}",
                    0,
                    0,
                    f"tag {tag.name} is frozen and this input list "
                    + ("is missing" if actual is None else "was edited (its sha256 changed)"),
                    "restore it from git: 'shrek freeze' writes it, never a person",
                )
            )
    return findings
