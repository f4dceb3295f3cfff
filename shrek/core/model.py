"""Typed views of a tag and its steps, loaded from YAML that passed its schema.

Loading never raises for a user mistake: a file that cannot be parsed or fails its schema
becomes findings, and the tag is returned with the steps that did load (the broken ones are
remembered so other checks do not report follow-on errors about them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shrek.core import schema
from shrek.core.registry import JOB_DIR, TAG_FILE, Registry
from shrek.core.yamlio import Document, load_yaml
from shrek.errors import Finding


@dataclass(frozen=True)
class Input:
    dataset: str
    files_per_job: int
    secondary: bool
    index: int  # position in the step's inputs list


@dataclass(frozen=True)
class Output:
    name: str
    files: str


@dataclass
class Step:
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
                Input(i["dataset"], int(i.get("files_per_job", 1)), bool(i.get("secondary")), n)
                for n, i in enumerate(data.get("inputs") or [])
            ],
            outputs=[Output(o["name"], o["files"]) for o in data["outputs"]],
            resources=list(data.get("resources") or []),
            command=data.get("command"),
            exec=data.get("exec"),
            setup=data.get("setup"),
            requirements=dict(data.get("requirements") or {}),
        )


@dataclass
class Tag:
    name: str  # the directory name, <label>-<build>
    directory: Path
    document: Document
    steps: dict[str, Step] = field(default_factory=dict)  # keyed by file stem
    broken_steps: set[str] = field(default_factory=set)  # stems whose file did not load

    @property
    def data(self) -> dict[str, Any]:
        return self.document.data

    @property
    def label(self) -> str:
        return str(self.data["label"])

    @property
    def build(self) -> str:
        return str(self.data["build"])

    @property
    def state(self) -> str:
        return tag_state(self.directory)

    def step_files(self) -> list[Path]:
        return step_files(self.directory)


def tag_state(tag_dir: Path) -> str:
    """draft (editable), frozen (immutable, not yet run) or submitted."""
    submissions = tag_dir / "submissions"
    if submissions.is_dir() and any(submissions.rglob("*.yaml")):
        return "submitted"
    if (tag_dir / "freeze.yaml").is_file():
        return "frozen"
    return "draft"


def step_files(tag_dir: Path) -> list[Path]:
    job_dir = tag_dir / JOB_DIR
    if not job_dir.is_dir():
        return []
    return sorted(p for p in job_dir.iterdir() if p.suffix in (".yaml", ".yml"))


def load_tag(registry: Registry, name: str) -> tuple[Tag | None, list[Finding]]:
    """Load ``tags/<name>``: the tag (None if tag.yaml is unusable) and every finding."""
    directory = registry.tag_dir(name)
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
        if step_doc is not None and not problems:
            problems = schema.check(step_doc, "step")
        findings.extend(problems)
        if tag is None:
            continue
        if step_doc is None or problems:
            tag.broken_steps.add(path.stem)
        else:
            tag.steps[path.stem] = Step.from_document(step_doc)
    return tag, findings
