"""Typed views of a tag and its steps, loaded from YAML that passed its schema.

Loading never raises for a user mistake: a file that cannot be parsed or fails its schema
becomes findings, and the tag is returned with the steps that did load (the broken ones are
remembered so other checks do not report follow-on errors about them).
"""

from __future__ import annotations

import fnmatch
import heapq
import os
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, NamedTuple

from shrek.core import resources, schema
from shrek.core.layout import JOB_DIR, TAG_FILE
from shrek.core.registry import Registry
from shrek.core.yamlio import Document, load_yaml
from shrek.errors import ExitCode, Finding, ShrekError

# what resources.expand gives: the files a resource pattern names, or why it names none
Expansion = tuple[list[resources.ResourceFile], resources.ResourceProblem | None]


class Input(NamedTuple):
    dataset: str
    files_per_job: int
    secondary: bool
    position: int  # its place in the step's inputs list
    max_files: int | None = None  # use at most this many files (primary only)
    reusable: bool = True  # a secondary stream starts again from its first file when used up
    match: str | None = None  # read only the files whose names match this glob

    def reads(self, file_name: str) -> bool:
        """Whether a job reads this file of the dataset (every file without ``match``)."""
        return matches(self.match, file_name)


def matches(glob: str | None, file_name: str) -> bool:
    """PanDA's rule for an input's file filter, which JEDI applies as ``re.search`` of the
    glob made a regular expression: the glob may match anywhere in the file name (its
    dataset's files carry the task's prefix). No filter: every file."""
    return glob is None or fnmatch.fnmatchcase(file_name, f"*{glob}*")


class Output(NamedTuple):
    name: str
    files: str


class Step(NamedTuple):
    name: str
    document: Document
    description: str
    parameters: dict[str, str | int | float | bool]
    jobs: int | None
    inputs: list[Input]
    outputs: list[Output]
    resources: list[str]
    command: str | None
    exec: str | None
    setup: str | None
    requirements: dict[str, Any]
    resource_dir: str = ""  # its resources are read from here and arrive flat in the job

    @property
    def file(self) -> str:
        return self.document.file

    @property
    def payload_key(self) -> str:
        return "command" if self.command is not None else "exec"

    @property
    def payload(self) -> str:
        return self.command if self.command is not None else str(self.exec)

    @property
    def primary_inputs(self) -> list[Input]:
        return [i for i in self.inputs if not i.secondary]

    @classmethod
    def from_document(cls, document: Document) -> Step:
        data = document.data
        return cls(
            name=data["name"],
            document=document,
            description=data["description"],
            parameters=dict(data.get("parameters") or {}),
            jobs=data.get("jobs"),
            inputs=[
                Input(
                    i["dataset"],
                    int(i.get("files_per_job", 1)),
                    bool(i.get("secondary")),
                    n,
                    i.get("max_files"),
                    bool(i.get("reusable", True)),
                    i.get("match"),
                )
                for n, i in enumerate(data.get("inputs") or [])
            ],
            outputs=[Output(o["name"], o["files"]) for o in data["outputs"]],
            resources=list(data.get("resources") or []),
            resource_dir=str(data.get("resource_dir") or ""),
            command=data.get("command"),
            exec=data.get("exec"),
            setup=data.get("setup"),
            requirements=dict(data.get("requirements") or {}),
        )


class Tag:
    """A loaded tag: its ``tag.yaml`` and the steps under ``job/`` that loaded."""

    __slots__ = ("_expanded", "broken_steps", "directory", "document", "name", "steps")

    def __init__(
        self,
        name: str,  # the directory name, <label>-<build>
        directory: Path,
        document: Document,
        steps: dict[str, Step] | None = None,  # keyed by file stem
    ) -> None:
        self.name = name
        self.directory = directory
        self.document = document
        self.steps: dict[str, Step] = steps if steps is not None else {}
        self.broken_steps: set[str] = set()  # stems whose file did not load
        self._expanded: dict[tuple[str, str], Expansion] = {}

    def __repr__(self) -> str:
        return f"Tag({self.name!r})"

    def with_steps(self, steps: dict[str, Step]) -> Tag:
        """This tag with other steps (``shrek extend``: one step's jobs changed for a submit)."""
        changed = Tag(self.name, self.directory, self.document, steps)
        changed.broken_steps = set(self.broken_steps)
        return changed

    @property
    def data(self) -> dict[str, Any]:
        return self.document.data

    def expand(self, pattern: str, within: str = "") -> Expansion:
        """:func:`shrek.core.resources.expand` in this tag's directory, once per pattern for
        the life of this Tag: validating a frozen tag expands each resource for its checks
        and again for its freeze. (The lists are shared: read them, never change them.)"""
        key = (pattern, within)
        if key not in self._expanded:
            self._expanded[key] = resources.expand(self.directory, pattern, within)
        return self._expanded[key]

    @property
    def label(self) -> str:
        return str(self.data["label"])

    @property
    def build(self) -> str:
        return str(self.data["build"])

    def step_files(self) -> list[Path]:
        return step_files(self.directory)

    # -- the step graph: steps are linked by the datasets they read ---------------------------

    def producer(self, item: Input) -> tuple[str, str] | None:
        """(step, output) when ``item`` reads another step's output, else None (external)."""
        return self.producer_of(item.dataset)

    def producer_of(self, dataset: str) -> tuple[str, str] | None:
        """(step, output) when ``dataset`` (``<step>.<output>``) is made by a step of this tag."""
        name, dot, output = dataset.partition(".")
        return (name, output) if dot and name in self.steps else None

    def dependencies(self) -> dict[str, set[str]]:
        """step -> the steps whose outputs it reads (primary and secondary inputs alike)."""
        edges: dict[str, set[str]] = {}
        for name, step in self.steps.items():
            for item in step.inputs:
                made_by = self.producer(item)
                if made_by:
                    edges.setdefault(name, set()).add(made_by[0])
        return edges

    def external_inputs(self) -> list[str]:
        """Every dataset a step reads that no step of the tag makes, sorted."""
        return sorted(
            {i.dataset for s in self.steps.values() for i in s.inputs if not self.producer(i)}
        )

    def order(self) -> list[str]:
        """Step names with every producer before its consumers, ties in name order.

        graphlib sorts; of the steps ready at each point the first by name comes next, so the
        order (and every rendering that follows it) is the same on every machine.
        """
        edges = self.dependencies()
        sorter = TopologicalSorter({name: edges.get(name, set()) for name in self.steps})
        try:
            sorter.prepare()
        except CycleError as exc:
            raise ShrekError(
                f"the steps of {self.name} form a cycle",
                f"run 'shrek validate {self.label}'",
                ExitCode.INVALID,
            ) from exc
        ready = list(sorter.get_ready())
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            name = heapq.heappop(ready)
            order.append(name)
            sorter.done(name)
            for successor in sorter.get_ready():
                heapq.heappush(ready, successor)
        return order

    def cycles(self) -> list[list[str]]:
        """Every cycle of the step graph once, as found by graphlib: ``[a, b, ..., a]``, each
        step reading the output of the one before, starting from the first step by name."""
        edges = {name: set(parents) for name, parents in self.dependencies().items()}
        found: list[list[str]] = []
        while True:
            try:
                TopologicalSorter(edges).prepare()
                return found
            except CycleError as exc:
                cycle = list(exc.args[1])[:-1]
                start = cycle.index(min(cycle))
                cycle = [*cycle[start:], *cycle[:start]]
                found.append([*cycle, cycle[0]])
                consumer = cycle[1] if len(cycle) > 1 else cycle[0]
                edges[consumer].discard(cycle[0])  # break it; look for the next


def step_files(tag_dir: Path) -> list[Path]:
    """The tag's step files (and any ``.yml`` one, which validation names), sorted. By name,
    not through pathlib's ``iterdir``: this runs for every tag on each ``validate``."""
    job_dir = tag_dir / JOB_DIR
    try:
        names = sorted(os.listdir(job_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []
    # a Path's suffix: after the last dot, which is not the name's first character
    return [job_dir / n for n in names if n.endswith((".yaml", ".yml")) and n.rfind(".") > 0]


def load_tag(registry: Registry, name: str) -> tuple[Tag | None, list[Finding]]:
    """Load ``tags/<name>``: the tag (None if tag.yaml is unusable) and every finding."""
    return load_tag_dir(registry.tag_dir(name), name)


def load_tag_dir(directory: Path, name: str) -> tuple[Tag | None, list[Finding]]:
    """Load the tag ``name`` from ``directory`` (its place in the registry, or a copy of it
    as another commit had it: ``shrek review``), findings named as in the registry."""
    tag_file = f"tags/{name}/{TAG_FILE}"
    document, findings = load_yaml(directory / TAG_FILE, tag_file)
    if document is not None:
        problems = schema.check(document, "tag")
        findings.extend(problems)
        if problems:
            document = None
    tag = Tag(name, directory, document) if document is not None else None
    for path in step_files(directory):
        relative = f"tags/{name}/{JOB_DIR}/{path.name}"
        if path.suffix == ".yml":
            findings.append(
                Finding(
                    relative,
                    0,
                    0,
                    "step files end in '.yaml', not '.yml'",
                    f"rename it to {JOB_DIR}/{path.stem}.yaml",
                )
            )
            continue
        step_doc, problems = load_yaml(path, relative)
        if step_doc is not None:  # e.g. a number YAML rewrites: the schema's word too
            problems += schema.check(step_doc, "step")
        findings.extend(problems)
        if tag is None:
            continue
        if step_doc is None or problems:
            tag.broken_steps.add(path.stem)
        else:
            tag.steps[path.stem] = Step.from_document(step_doc)
    return tag, findings
