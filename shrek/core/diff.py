"""``shrek diff``: the semantic difference between two tags (or a tag and its parent).

Not a line diff of YAML: what a reviewer asks about — steps added or removed, parameters,
requirements, inputs, outputs, resources (by content), payloads, build and code refs changed,
each as old -> new.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shrek.core import resources
from shrek.core.hashing import sha256_file
from shrek.core.model import Input, Step, Tag
from shrek.core.registry import Registry
from shrek.core.validate import load_for_looking
from shrek.errors import ExitCode, Finding, ShrekError


@dataclass(frozen=True)
class Change:
    path: str  # e.g. "steps.hfprod-pass1.parameters.nevents"
    kind: str  # added | removed | changed
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}: {_show(self.new)}"
        if self.kind == "removed":
            return f"- {self.path}: {_show(self.old)}"
        return f"~ {self.path}: {_show(self.old)} -> {_show(self.new)}"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "old": self.old, "new": self.new}


def _show(value: Any) -> str:
    if isinstance(value, str) and "\n" in value.strip():
        return "\n    " + "\n    ".join(value.rstrip("\n").splitlines())
    return repr(value) if isinstance(value, str) else str(value)


def _mapping(
    path: str, old: dict[str, Any], new: dict[str, Any], *, keyed: bool = False
) -> list[Change]:
    """Changes between two mappings; ``keyed`` mappings (inputs by dataset name, resources by
    path, code by name) are written ``path[key]`` and compared field by field."""
    changes = []
    for key in list(old) + [k for k in new if k not in old]:
        where = f"{path}[{key}]" if keyed else f"{path}.{key}"
        if key in old and key in new and isinstance(old[key], dict) and isinstance(new[key], dict):
            changes += _mapping(where, old[key], new[key])
            continue
        if key not in new:
            changes.append(Change(where, "removed", old[key], None))
        elif key not in old:
            changes.append(Change(where, "added", None, new[key]))
        elif old[key] != new[key]:
            changes.append(Change(where, "changed", old[key], new[key]))
    return changes


def _resource_digests(tag: Tag, step: Step) -> dict[str, str]:
    digests: dict[str, str] = {}
    for pattern in step.resources:
        files, _ = resources.expand(tag.directory, pattern, step.resource_dir)
        digests.update((f.name, sha256_file(f.path).sha256[:16]) for f in files)
    return digests


def _step(path: str, a: Tag, old: Step, b: Tag, new: Step) -> list[Change]:
    changes = []
    for key in ("description", "jobs", "setup", "command", "exec"):
        before, after = getattr(old, key), getattr(new, key)
        if before != after:
            kind = "added" if before is None else "removed" if after is None else "changed"
            changes.append(Change(f"{path}.{key}", kind, before, after))
    changes += _mapping(f"{path}.parameters", old.parameters, new.parameters)
    changes += _mapping(f"{path}.requirements", old.requirements, new.requirements)
    changes += _mapping(f"{path}.inputs", _inputs(old.inputs), _inputs(new.inputs), keyed=True)
    changes += _mapping(
        f"{path}.outputs",
        {o.name: o.files for o in old.outputs},
        {o.name: o.files for o in new.outputs},
    )
    changes += _mapping(
        f"{path}.resources", _resource_digests(a, old), _resource_digests(b, new), keyed=True
    )
    return changes


def diff_tags(a: Tag, b: Tag) -> list[Change]:
    changes = []
    for key in ("build", "title", "description", "owner"):
        if a.data.get(key) != b.data.get(key):
            changes.append(Change(key, "changed", a.data.get(key), b.data.get(key)))
    code_a = {c["name"]: {"url": c["url"], "ref": c["ref"]} for c in a.data.get("code") or []}
    code_b = {c["name"]: {"url": c["url"], "ref": c["ref"]} for c in b.data.get("code") or []}
    changes += _mapping("code", code_a, code_b, keyed=True)
    for name in sorted(set(a.steps) | set(b.steps)):
        if name not in b.steps:
            changes.append(Change(f"steps.{name}", "removed", a.steps[name].description, None))
        elif name not in a.steps:
            changes.append(Change(f"steps.{name}", "added", None, b.steps[name].description))
        else:
            changes += _step(f"steps.{name}", a, a.steps[name], b, b.steps[name])
    return changes


def diff(
    registry: Registry, first: str, second: str | None = None
) -> tuple[str, str, list[Change], list[Finding]]:
    """(old tag, new tag, changes, what is wrong with either); with one tag, it is compared
    with its parent. An invalid tag is compared as far as it loads — looking at what changed
    is how a broken pull request is understood — and its findings come back for the caller
    to show after the changes."""
    if second is None:
        new, problems = loaded(registry, first)
        parent = new.data.get("parent")
        if not parent:
            raise ShrekError(
                f"tag {new.name} has no parent to compare with",
                f"name two tags: shrek diff OLD {new.label}",
                ExitCode.USAGE,
            )
        old, more = loaded(registry, str(parent))
    else:
        (old, problems), (new, more) = loaded(registry, first), loaded(registry, second)
    return old.name, new.name, diff_tags(old, new), problems + more


def loaded(registry: Registry, name: str) -> tuple[Tag, list[Finding]]:
    """The tag as far as it loads, with its validation findings."""
    return load_for_looking(registry, name, "compared")


def as_markdown(old: str, new: str, changes: list[Change]) -> str:
    """The diff for a pull request's job summary."""
    lines = [f"### {new} compared with {old}", ""]
    if not changes:
        return "\n".join([*lines, "No differences.", ""])
    lines += ["| what | change | old | new |", "| --- | --- | --- | --- |"]
    for change in changes:
        cells = [_md(change.old), _md(change.new)]
        lines.append(f"| `{change.path}` | {change.kind} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def _md(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "`" + text.replace("|", "\\|").replace("\n", " ⏎ ").replace("`", "'") + "`"


def _inputs(inputs: list[Input]) -> dict[str, dict[str, object]]:
    """What a change of an input means to its jobs: how many files, which, how read."""
    return {
        i.dataset: {
            "files_per_job": i.files_per_job,
            "secondary": i.secondary,
            "max_files": i.max_files,
            "reusable": i.reusable,
            "match": i.match,
        }
        for i in inputs
    }
