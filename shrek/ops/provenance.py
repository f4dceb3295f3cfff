"""``shrek provenance``: what made an output file or a dataset, and what made its inputs.

A question starts from an output file (its path or name), a job's provenance file, or a
dataset name (SHREK's local names, PanDA's containers ``user.<nick>.<tag>…/``, Rucio's
``scope:name``). The answer joins three sources that each hold part of it:

- the **submission record** (committed): tag, step, submission, sequence range, the datasets
  read and written, the registry commit of its journal;
- the registry **at that commit** (git): the freeze (code repositories at their commits, the
  build and its set-up line) and the step's parameters — as they were, whatever happened since;
- the job's **provenance file** (catalogued with the outputs): the job's sequence number, host,
  times, exit status and every input and output file with its checksum.

``--tree`` follows each input back through the upstream steps' records (file by file where
provenance files exist, dataset by dataset otherwise) until it reaches external datasets.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shrek.catalogs.factory import local_catalog
from shrek.core import schema
from shrek.core.layout import FREEZE_FILE, JOB_DIR
from shrek.core.lifecycle import Lifecycle, read_events
from shrek.core.records import Record, load_records
from shrek.core.registry import Registry
from shrek.core.submission import SequenceRange
from shrek.core.yamlio import loads
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo


@dataclass
class Origin:
    """A submission as provenance reports it: its record and the registry at its journal."""

    tag: str
    step: str
    submission: str
    record: str  # path relative to the registry
    record_commit: str  # the last commit that changed the record
    registry_commit: str  # the journal's commit: what every job of the submission names
    state: str
    test: bool
    sequences: dict[str, int]
    freeze_digest: str | None
    code: list[dict[str, str]]
    build: dict[str, str]
    parameters: dict[str, Any]
    inputs: dict[str, str]  # declared input -> dataset read
    outputs: dict[str, str]  # output -> dataset written
    extends: str = ""
    invalid: str = ""  # the reason, when the submission was invalidated
    superseded_by: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Node:
    """The provenance of one file or dataset; ``inputs`` are nodes too under ``--tree``."""

    kind: str  # "file", "dataset" or "external"
    name: str
    dataset: str
    origin: Origin | None = None
    job: dict[str, Any] | None = None  # the job's provenance file (files only)
    provenance_file: str = ""
    inputs: list[Node] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "name": self.name, "dataset": self.dataset}
        if self.origin is not None:
            data["origin"] = self.origin.as_dict()
        if self.job is not None:
            data["job"] = self.job
            data["provenance_file"] = self.provenance_file
        data["inputs"] = [node.as_dict() for node in self.inputs]
        return data


def provenance(registry: Registry, what: str, *, tree: bool = False) -> Node:
    """The provenance of ``what`` (a file path or name, or a dataset name); an unknown name
    is one ShrekError with exit 4."""
    finder = Finder(registry)
    node = finder.file(what) or finder.dataset(what)
    if node is None:
        raise ShrekError(
            f"'{what}' is neither an output file nor a dataset of this registry's submissions",
            "give an output file's path or name, a job's shrek-provenance.json, or a dataset "
            "name as 'shrek status' or 'shrek dataset list' shows it",
            ExitCode.NOT_FOUND,
        )
    if tree:
        finder.follow(node, depth=0)
    return node


class Finder:
    """Looks records, catalogue entries and commits up, each once per command."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.catalog = local_catalog(registry)
        self.repo = GitRepo(registry.root)
        self._records: dict[str, list[Record]] = {}
        self._origins: dict[str, Origin] = {}
        self._lifecycles: dict[str, Lifecycle] = {}

    # -- what was asked ------------------------------------------------------------------

    def file(self, what: str) -> Node | None:
        path = Path(what)
        if path.name.endswith(".json") and path.is_file():
            job = _job_file(path)
            if job is not None:
                return self._job_node(job, str(path.resolve()), path.name, "")
        key = str(path.resolve()) if path.exists() else what
        found = self.catalog.find(key) if key else []
        if not found and key != what:
            found = self.catalog.find(path.name)
        if not found:
            return None
        # a name in several datasets (external ones may share file names): a production's first
        made = [(d, f) for d, f in found if self.record_of(d) is not None]
        dataset, item = (made or found)[0]
        return self.file_in(dataset, item.name)

    def file_in(self, dataset: str, name: str) -> Node:
        location = self.catalog.provenance(dataset, name)
        job = _job_file(Path(location)) if location else None
        record = self.record_of(dataset)
        if job is not None:
            node = self._job_node(job, str(location), name, dataset)
            if node.origin is None and record is not None:
                node.origin = self.origin(record)
            return node
        if record is None:  # a file of an external dataset: no submission made it
            return Node("external", name, dataset)
        return Node("file", name, dataset, self.origin(record))

    def dataset(self, what: str) -> Node | None:
        record = self.record_of(what)
        if record is None:
            return None
        wanted = _plain(what)
        for dataset in record.datasets_written:
            if _plain(dataset) == wanted:
                return Node("dataset", dataset, dataset, self.origin(record))
        # a file of a PanDA/Rucio dataset, named <dataset>.<more>: the dataset's provenance
        dataset = next(d for d in record.datasets_written if wanted.startswith(_plain(d) + "."))
        return Node("file", what, dataset, self.origin(record))

    def _job_node(self, job: dict[str, Any], location: str, name: str, dataset: str) -> Node:
        record = self.record_by_id(str(job.get("submission") or ""))
        return Node("file", name, dataset, self.origin(record) if record else None, job, location)

    # -- records -------------------------------------------------------------------------

    def records(self, tag: str) -> list[Record]:
        if tag not in self._records:
            directory = self.registry.tag_dir(tag)
            self._records[tag] = load_records(directory) if directory.is_dir() else []
        return self._records[tag]

    def record_of(self, name: str) -> Record | None:
        """The record that wrote dataset ``name`` (or the dataset a PanDA file name starts
        with); tags whose name the dataset carries are searched first, then every tag."""
        wanted = _plain(name)
        tags = self.registry.tag_names()
        likely = [t for t in tags if t in wanted]
        for tag in [*likely, *(t for t in tags if t not in likely)]:
            for record in self.records(tag):
                for dataset in record.datasets_written:
                    plain = _plain(dataset)
                    if wanted == plain or wanted.startswith(plain + "."):
                        return record
        return None

    def record_by_id(self, submission: str) -> Record | None:
        tag, _, rest = submission.partition("/")
        step, _, number = rest.partition("/")
        if not (tag and step and number.isdigit()):
            return None
        for record in self.records(tag):
            if record.step == step and record.number == int(number):
                return record
        return None

    def lifecycle(self, tag: str) -> Lifecycle:
        if tag not in self._lifecycles:
            self._lifecycles[tag] = read_events(self.registry.tag_dir(tag))
        return self._lifecycles[tag]

    def origin(self, record: Record) -> Origin:
        ident = str(record.data["id"])
        if ident in self._origins:
            return self._origins[ident]
        data = record.data
        commits = self.repo.log(record.path)  # oldest first: the journal, ..., the last
        added, last = (commits[0][0], commits[-1][0]) if commits else ("", "")
        journal = data["submitted"].get("journal_commit") or added
        freeze = self._yaml_at(journal, f"tags/{record.data['tag']}/{FREEZE_FILE}") or {}
        step = self._yaml_at(journal, f"tags/{data['tag']}/{JOB_DIR}/{record.step}.yaml") or {}
        tag_file = self._yaml_at(journal, f"tags/{data['tag']}/tag.yaml") or {}
        code = freeze.get("code") or [{**repo, "commit": ""} for repo in tag_file.get("code") or []]
        lifecycle = self.lifecycle(str(data["tag"]))
        origin = Origin(
            tag=str(data["tag"]),
            step=record.step,
            submission=ident,
            record=self.registry.relative(record.path),
            record_commit=last,
            registry_commit=journal,
            state=record.state,
            test=record.test,
            sequences=_range(data["sequences"][record.step]),
            freeze_digest=data.get("freeze_digest"),
            code=code,
            build=freeze.get("build") or {"name": str(tag_file.get("build", "")), "setup": ""},
            parameters=step.get("parameters") or {},
            inputs=dict(data["datasets"]["inputs"]),
            outputs=dict(data["datasets"]["outputs"]),
            extends=str(data.get("extends") or ""),
            invalid=lifecycle.invalid_reason(ident),
            superseded_by=lifecycle.superseded_by,
        )
        self._origins[ident] = origin
        return origin

    def _yaml_at(self, commit: str, relative: str) -> dict[str, Any] | None:
        if not commit:
            return None
        text = self.repo.file_at(commit, self.registry.root / relative)
        try:
            data = loads(text) if text else None
        except yaml.YAMLError:
            return None
        return data if isinstance(data, dict) else None

    # -- --tree ----------------------------------------------------------------------------

    def follow(self, node: Node, depth: int) -> None:
        """Add ``node``'s inputs, and theirs, down to external datasets."""
        if node.origin is None or depth > 50:  # a registry's chains are short; never loop
            return
        if node.job is not None:
            for item in node.job.get("inputs", []):
                dataset = node.origin.inputs.get(item["input"], item["input"])
                child = self._input_file(dataset, item)
                node.inputs.append(child)
                self.follow(child, depth + 1)
            return
        for dataset in node.origin.inputs.values():
            record = self.record_of(dataset)
            child = (
                Node("dataset", dataset, dataset, self.origin(record))
                if record is not None
                else Node("external", dataset, dataset)
            )
            node.inputs.append(child)
            self.follow(child, depth + 1)

    def _input_file(self, dataset: str, item: dict[str, Any]) -> Node:
        record = self.record_of(dataset)
        if record is None:  # an external dataset: the file as the job saw it
            return Node("external", item["name"], dataset, job=None)
        if any(found == dataset for found, _ in self.catalog.find(item["name"])):
            return self.file_in(dataset, item["name"])
        return Node("dataset", dataset, dataset, self.origin(record))


def _job_file(path: Path) -> dict[str, Any] | None:
    """A provenance file's content (None when it is not one); one that looks like a
    provenance file but does not match its schema is refused, naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and {"schema_version", "step", "tag"} <= data.keys()):
        return None
    problem = next(iter(schema.validator("provenance").iter_errors(data)), None)
    if problem is not None:
        where = "/".join(str(p) for p in problem.absolute_path) or "the document"
        raise ShrekError(
            f"provenance file {path} is damaged ({where}: {problem.message[:200]})",
            "it is written by the job itself: restore it from the store, or run the job again "
            "(shrek reproduce) to see what it would say",
            ExitCode.INVALID,
        )
    return data


def _plain(name: str) -> str:
    """A dataset name without Rucio's ``scope:`` and a container's trailing ``/``."""
    name = name.strip().rstrip("/")
    return name.split(":", 1)[1] if ":" in name else name


def _range(sequences: SequenceRange) -> dict[str, int]:
    return {"first": sequences["first"], "last": sequences["last"]}
