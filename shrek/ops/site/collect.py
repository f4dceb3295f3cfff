"""What the site shows, read once from the registry's committed files: every tag with its
steps, freeze, submissions and lineage, every dataset with who made it, who read it and (for
a frozen input) its files, and the search entries that lead to them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shrek.catalogs.factory import open_catalog
from shrek.core import ledger
from shrek.core.freeze import list_path, read_freeze, read_list
from shrek.core.layout import FREEZE_FILE, SUBMISSIONS_DIR
from shrek.core.lifecycle import read_events
from shrek.core.model import Step, Tag, load_tag
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.core.taint import Taints, registry_taints
from shrek.errors import ShrekError
from shrek.git import GitRepo
from shrek.ops.tag import overview, submissions


@dataclass
class TagInfo:
    """One tag as its page and its row on the front page show it."""

    row: dict[str, Any]  # overview(): name, label, build, title, steps, state, invalid, tainted
    owner: str
    description: str
    steps: list[Step]
    edges: list[tuple[str, str]]  # (producer, consumer) step names
    step_states: dict[str, str]  # step -> the state of its latest submission
    submissions: list[dict[str, Any]]  # ops.tag.submissions() rows, plus jobs and failures
    freeze: dict[str, Any] | None
    lineage: dict[str, Any]
    jobs: dict[str, int]  # done, failed, total over its submissions that count
    last_activity: str
    commit: str  # the last commit that changed the tag
    freeze_commit: str = ""  # the commit that wrote its freeze


@dataclass
class DatasetInfo:
    """One dataset: who made it, who read it, and the files the registry knows of it."""

    name: str
    made_by: dict[str, Any] | None = None  # the submission row that wrote it
    tag: str = ""
    reads: dict[str, str] = field(default_factory=dict)  # its inputs: declared -> dataset
    read_by: list[tuple[str, str]] = field(default_factory=list)  # (tag, submission id)
    frozen_in: list[str] = field(default_factory=list)  # tags whose freeze pins it
    # name, bytes, checksum, where (a frozen list says no where: "")
    files: list[tuple[str, int, str, str]] = field(default_factory=list)
    invalid: str = ""
    tainted: str = ""


@dataclass
class SiteData:
    title: str
    commit_url: str  # '{sha}' in it is a commit; '' when the registry has no web remote
    head: str
    tags: list[TagInfo]
    datasets: dict[str, DatasetInfo]
    freeze_commits: dict[str, str] = field(default_factory=dict)  # tag -> its freeze's commit
    tainted_by: dict[str, list[str]] = field(default_factory=dict)  # invalid id -> derived ids


def collect(registry: Registry, *, catalogue: bool = False) -> SiteData:
    """Everything the site shows, each file read once (the taints and the ledger once for
    the registry, not once per tag); ``catalogue``: the files of the steps' outputs and where
    they are, asked of the registry's catalogue (they are not in git)."""
    repo = GitRepo(registry.root)
    taints = registry_taints(registry.tags_dir)
    last_commit, freeze_commit = _last_commits(repo)
    entries, _ = ledger.read_ledger(registry.root)
    allocated = {e.label: e.allocated_at for e in entries}
    datasets: dict[str, DatasetInfo] = {}
    tags = []
    for name in registry.tag_names():
        info = _tag(registry, name, taints, allocated, last_commit.get(name, ""))
        info.freeze_commit = freeze_commit.get(name, "") if info.freeze else ""
        tags.append(info)
        _datasets_of(registry, info, datasets, taints)
    if catalogue:
        _output_files(registry, datasets)
    remote = repo.remote_for(repo.branch() or "main") if repo.has_commits() else None
    return SiteData(
        title=registry.root.name,
        commit_url=_commit_url(repo.remote_url(remote) if remote else None),
        head=repo.head() if repo.has_commits() else "",
        tags=tags,
        datasets=datasets,
        freeze_commits={t.row["name"]: t.freeze_commit for t in tags if t.freeze_commit},
        tainted_by=_tainted_by(taints),
    )


def _tainted_by(taints: Taints) -> dict[str, list[str]]:
    """What each invalidation taints: the invalid submission (or dataset) -> the submissions
    made from it, at any depth and in any tag."""
    found: dict[str, list[str]] = {}
    for submission, taint in sorted(taints.submissions.items()):
        found.setdefault(taint.ancestor, []).append(submission)
    return found


def _tag(
    registry: Registry, name: str, taints: Taints, allocated: dict[str, str], commit: str
) -> TagInfo:
    directory = registry.tag_dir(name)
    records = load_records(directory) if (directory / SUBMISSIONS_DIR).is_dir() else []
    lifecycle = read_events(directory)
    row = overview(registry, name, records=records, lifecycle=lifecycle, taints=taints)
    tag, _ = load_tag(registry, name)
    steps = _in_order(tag) if tag is not None else []
    rows = submissions(registry, records, lifecycle, taints, sizes=False)
    by_id = {str(r.data["id"]): r for r in records}
    jobs = {"done": 0, "failed": 0, "total": 0}
    latest: dict[str, str] = {}
    activity = allocated.get(row["label"], "")
    for submission in rows:
        record = by_id[submission["id"]]
        submission["jobs"] = dict(record.data.get("jobs") or {})
        submission["failures"] = list(record.data.get("failures") or [])
        submission["inputs"] = dict(record.data["datasets"].get("inputs") or {})
        submission["commit"] = str((record.data.get("submitted") or {}).get("journal_commit") or "")
        submission["at"] = (
            str(record.data["history"][-1]["at"]) if record.data.get("history") else ""
        )
        activity = max(activity, submission["at"])
        if not submission["test"]:
            latest[submission["step"]] = submission["state"]
            if not submission["invalid"]:
                for key in jobs:
                    jobs[key] += int(submission["jobs"].get(key, 0))
    frozen, _ = read_freeze(registry, name)
    data = tag.data if tag is not None else {}
    return TagInfo(
        row=row,
        owner=str(data.get("owner") or ""),
        description=str(data.get("description") or ""),
        steps=steps,
        edges=sorted(
            (producer, consumer)
            for consumer, producers in (tag.dependencies() if tag is not None else {}).items()
            for producer in producers
        ),
        step_states=latest,
        submissions=rows,
        freeze=frozen,
        lineage={
            "parent": str(data.get("parent") or ""),
            "supersedes": lifecycle.supersedes,
            "superseded_by": lifecycle.superseded_by,
            "invalidated": lifecycle.invalid_submissions,
        },
        jobs=jobs,
        last_activity=activity,
        commit=commit,
    )


def _in_order(tag: Tag) -> list[Step]:
    """The steps producers first; in name order when the DAG has a cycle (the page still
    shows the tag, and validate names the cycle)."""
    try:
        return [tag.steps[n] for n in tag.order()]
    except ShrekError:
        return [tag.steps[n] for n in sorted(tag.steps)]


def _datasets_of(
    registry: Registry, info: TagInfo, datasets: dict[str, DatasetInfo], taints: Taints
) -> None:
    name = info.row["name"]
    for row in info.submissions:
        for output in row["outputs"].values():
            made = datasets.setdefault(output["dataset"], DatasetInfo(output["dataset"]))
            made.made_by, made.tag, made.reads = row, name, row["inputs"]
            made.invalid = row["invalid"]
            made.tainted = taints.of_dataset(output["dataset"])
        for dataset in row["inputs"].values():
            read = datasets.setdefault(dataset, DatasetInfo(dataset))
            read.read_by.append((name, row["id"]))
    for item in (info.freeze or {}).get("inputs", []):
        pinned = datasets.setdefault(item["dataset"], DatasetInfo(item["dataset"]))
        pinned.frozen_in.append(name)
        if not pinned.files:
            listed = registry.tag_dir(name) / list_path(item["dataset"])
            try:
                files = read_list(listed, registry.relative(listed))
            except ShrekError:
                files = {}
            pinned.files = [
                (f, size, checksum, "") for f, (size, checksum) in sorted(files.items())
            ]


def _output_files(registry: Registry, datasets: dict[str, DatasetInfo]) -> None:
    """The files of every output dataset the catalogue knows (asked once for which it knows,
    then once per dataset): name, bytes, checksum and where the file is."""
    catalog = open_catalog(registry)
    outputs = [d.name for d in datasets.values() if d.made_by is not None and not d.files]
    known = catalog.infos(outputs)
    for name in outputs:
        if name in known:
            datasets[name].files = [
                (f.name, f.size, f.checksum, f.location) for f in catalog.files(name)
            ]


TAG_PATH = re.compile(r"tags/([^/]+)/")


def _last_commits(repo: GitRepo) -> tuple[dict[str, str], dict[str, str]]:
    """tag -> the last commit that changed one of its files, and tag -> the last that wrote
    its freeze.yaml, from one walk of the history."""
    if not repo.has_commits():
        return {}, {}
    changed: dict[str, str] = {}
    frozen: dict[str, str] = {}
    for commit, path, _ in repo.versions(["tags/*/*", "tags/*/*/*", "tags/*/*/*/*"]):
        match = TAG_PATH.match(path)
        if match:
            changed[match[1]] = commit  # oldest first: the last one wins
            if path.endswith(f"/{match[1]}/{FREEZE_FILE}"):
                frozen[match[1]] = commit
    return changed, frozen


def _commit_url(remote: str | None) -> str:
    """'https://host/owner/repo/commit/{sha}' for a remote a browser can open (https, or
    ssh in git@host:owner/repo form); '' for a local path or git:// remote."""
    if not remote:
        return ""
    ssh = re.fullmatch(r"(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?/?", remote)
    if ssh:
        return f"https://{ssh[1]}/{ssh[2]}/commit/{{sha}}"
    web = re.fullmatch(r"(https?://[^@/]+(?:@[^/]+)?/.+?)(?:\.git)?/?", remote)
    if web:
        base = re.sub(r"//[^@/]+@", "//", web[1])  # never a credential in a link
        return f"{base}/commit/{{sha}}"
    return ""
