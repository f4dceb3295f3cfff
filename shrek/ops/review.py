"""``shrek review``: the checks a registry's CI runs on a pull request, beyond ``validate``.

A pull request may add tags, add records, and regenerate READMEs. It may not change a tag that
was frozen on the base branch (its definitions, resources, freeze or input lists), delete one,
or change what is append-only (:mod:`shrek.ops.history`: the ledgers' lines, the records'
fixed fields and history) as it was where the pull request started. The job summary gets the
semantic diff of every changed tag against its parent.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from shrek.core.diff import Change, as_markdown, diff, diff_tags, loaded
from shrek.core.layout import TAGS_DIR
from shrek.core.model import load_tag_dir
from shrek.core.registry import Registry
from shrek.core.yamlio import loads
from shrek.errors import ExitCode, Finding, ShrekError
from shrek.git import GitRepo
from shrek.ops.history import base_findings

# Paths inside a frozen tag that may still change: its records and its generated summary.
MUTABLE = ("submissions/", "README.md")


@dataclass
class Review:
    base: str
    changed_tags: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""

    @property
    def ok(self) -> bool:
        return not self.findings


def compare(
    registry: Registry, first: str, second: str | None = None
) -> tuple[str, str, list[Change], list[Finding]]:
    """``shrek diff``: what differs between two tags, or a tag and its parent
    (:func:`shrek.core.diff.diff`: an invalid tag compared as far as it loads)."""
    return diff(registry, first, second)


def review(registry: Registry, base: str) -> Review:
    repo = GitRepo(registry.root)
    prefix = registry.root.relative_to(repo.root).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    if not repo.is_commit(base):
        raise ShrekError(
            f"--base {base} names no commit in this clone",
            "fetch it first (git fetch origin), or name a branch, tag or commit that exists "
            "here, e.g. --base origin/main",
            ExitCode.NOT_FOUND,
        )
    result = Review(base)
    changed: dict[str, list[str]] = {}
    for path in repo.changed_files(base):
        if not path.startswith(prefix):
            continue
        relative = path[len(prefix) :]
        parts = relative.split("/", 2)
        if parts[0] == TAGS_DIR and len(parts) == 3:
            changed.setdefault(parts[1], []).append(parts[2])
    result.findings += [f for found in base_findings(registry, base).values() for f in found]
    result.changed_tags = sorted(changed)
    sections = [f"## SHREK review against `{base}`", ""]
    for name in result.changed_tags:
        tag_dir = registry.tag_dir(name)
        frozen_before = repo.file_at(base, tag_dir / "freeze.yaml") is not None
        edited = sorted(p for p in changed[name] if not p.startswith(MUTABLE))
        if frozen_before and not tag_dir.exists():
            result.findings.append(
                Finding(
                    f"tags/{name}",
                    0,
                    0,
                    "a frozen tag was deleted",
                    "restore it: frozen productions stay in the registry",
                )
            )
        elif frozen_before and edited:
            for path in edited:
                result.findings.append(
                    Finding(
                        f"tags/{name}/{path}",
                        0,
                        0,
                        f"tag {name} was frozen on {base}, and this pull request changes it",
                        f"revert the change and make a new tag: shrek "
                        f"tag new --from {name.partition('-')[0]}",
                    )
                )
        if tag_dir.exists():
            existed = repo.file_at(base, tag_dir / "tag.yaml") is not None
            sections.append(_section(registry, name, existed, frozen_before, base, edited))
    result.summary = "\n".join(sections) + "\n"
    return result


def _section(
    registry: Registry,
    name: str,
    existed: bool,
    frozen_before: bool,
    base: str,
    edited: list[str],
) -> str:
    """What the summary says of one changed tag: edited after its freeze, changed, or new —
    and, for a tag with a parent, its semantic diff against the parent."""
    if frozen_before and edited:
        files = ", ".join(f"`{p}`" for p in edited)
        return (
            f"### {name}\n\n**Edited after its freeze on `{base}`** ({files}): a frozen tag is "
            "immutable; the check fails.\n"
        )
    data = loads((registry.tag_dir(name) / "tag.yaml").read_text(encoding="utf-8"))
    if existed and not edited:
        return f"### {name}\n\nNew records or README only: see tags/{name}/README.md.\n"
    if existed:  # the change itself: the tag as the base had it, against this one
        return _against_base(registry, name, base)
    if not isinstance(data, dict) or not data.get("parent"):
        return f"### {name}\n\nNew tag without a parent: see tags/{name}/README.md.\n"
    try:
        old, new, changes, _ = diff(registry, name)
    except ShrekError as error:
        return f"### {name}\n\nCannot compare with its parent: {error.message}\n"
    return as_markdown(old, new, changes)


def _against_base(registry: Registry, name: str, base: str) -> str:
    """A tag changed by the pull request (not frozen on the base): what changed in it, step by
    step, as ``shrek diff`` says it — the base's version is read from git, not the README."""
    repo = GitRepo(registry.root)
    try:
        new, _ = loaded(registry, name)
    except ShrekError as error:
        return f"### {name}\n\nChanged, and does not load: {error.message}\n"
    with tempfile.TemporaryDirectory(prefix=".shrek-review.") as scratch:
        if not repo.extract(base, registry.tag_dir(name), Path(scratch)):
            return f"### {name}\n\nChanged; its version on `{base}` cannot be read.\n"
        relative = registry.tag_dir(name).resolve().relative_to(repo.root)
        old, _ = load_tag_dir(Path(scratch) / relative, name)
        if old is None:
            return f"### {name}\n\nChanged; its tag.yaml on `{base}` does not load.\n"
        changes = diff_tags(old, new)
    text = as_markdown(f"{name} on `{base}`", name, changes)
    return text.replace(f"### {name} compared with", f"### {name}: the change, compared with", 1)


def write_summary(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
