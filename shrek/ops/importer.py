"""``shrek import``: one new tag from a directory of 2022 job-definition files.

The translation itself is :mod:`shrek.core.legacy`; this module reads the files, resolves and
copies the resources (each step's into ``resources/<step>/``, its ``resource_dir``, from which
they arrive flat in the job's working directory, as 2022's jobs received them), writes
``IMPORT.md`` with everything that could not be carried over, and creates the tag as ``shrek
tag new`` does — label allocated, committed with its ledger line — then validates it and
reports what remains to fix.
"""

from __future__ import annotations

import filecmp
import glob
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from shrek.core.legacy import Converted, Note, convert
from shrek.core.registry import Registry
from shrek.core.validate import ENVIRONMENT, SHREK_VARIABLES, validate
from shrek.core.yamlio import Document, dump_yaml, load_yaml, loads, write_atomic
from shrek.errors import ExitCode, Finding, ShrekError
from shrek.ops.tag import TagRequest, new_tag

IMPORT_NOTES = "IMPORT.md"


@dataclass
class Imported:
    tag: str
    commit: str
    notes: list[Note]
    findings: list[Finding] = field(default_factory=list)  # what validation still finds


@dataclass(frozen=True)
class ImportRequest:
    """What ``shrek import`` asks for: the 2022 directory, and one field per option."""

    directory: Path  # the 2022 job files (one workflow)
    build: str
    label: str | None = None
    year: int | None = None
    resources_root: Path | None = None  # where 2022's absolute resource paths are now
    title: str | None = None
    skip_to: bool = False  # the claimed label may skip unused labels (a 2022 label may)
    site: str | None = None


def import_2022(registry: Registry, request: ImportRequest) -> Imported:
    """Create one tag from the 2022 job files in ``request.directory``."""
    directory, build, site = request.directory, request.build, request.site
    documents = _read(directory)
    environment = registry.builds.get(build, {}).get("environment", [])
    converted = convert(
        documents, frozenset((*SHREK_VARIABLES, *ENVIRONMENT, *map(str, environment)))
    )
    _settle_site(registry, converted, site)
    for other, where in sorted(converted.builds.items()):
        if other != build:
            converted.notes.append(
                Note(where.file, where.line, f"build {other}: the tag is built with {build}")
            )
    root = (request.resources_root or directory).resolve()
    if not root.is_dir():
        raise ShrekError(
            f"--resources-root {request.resources_root} is not a directory",
            "give the directory 2022's relative Resources paths started from (its checkout)",
            ExitCode.NOT_FOUND,
        )
    with tempfile.TemporaryDirectory(prefix=".shrek-import.") as staging_name:
        staging = Path(staging_name)
        _copy_resources(converted, root, staging)
        (staging / "job").mkdir()
        for name, step in converted.steps.items():
            header = f"# Imported from 2022 job files by 'shrek import' ({directory.name}).\n"
            write_atomic(staging / "job" / f"{name}.yaml", header + _step_text(step))
        write_atomic(
            staging / IMPORT_NOTES, _notes_text(directory, converted.notes + converted.unresolved)
        )
        created = new_tag(
            registry,
            TagRequest(
                label=request.label,
                build=build,
                year=request.year,
                title=request.title or f"{directory.name} (imported from 2022 job files)",
                steps_from=staging,
                what=f"imported from {directory.name}",
                skip_to=request.skip_to,
            ),
        )
    report = validate(Registry.open(registry.root), [created.name])
    unresolved = [  # an input 2022 linked to nothing known: never a silent external
        Finding(
            f"tags/{created.name}/{IMPORT_NOTES}",
            0,
            0,
            f"{note.file}:{note.line}: {note.what.partition(': write')[0]}",
            "write the dataset it reads into the step file, then shrek validate",
        )
        for note in converted.unresolved
    ]
    return Imported(
        created.name,
        created.commit,
        converted.notes + converted.unresolved,
        report.findings + unresolved,
    )


def _read(directory: Path) -> list[Document]:
    if not directory.is_dir():
        raise ShrekError(
            f"{directory} is not a directory",
            "give the directory of the 2022 job files",
            ExitCode.NOT_FOUND,
        )
    paths = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    if not paths:
        raise ShrekError(
            f"{directory} holds no .yaml job files",
            "give the directory of the 2022 job files",
            ExitCode.NOT_FOUND,
        )
    documents, problems = [], []
    for path in paths:
        document, found = load_yaml(path, path.name)
        problems.extend(found)
        if document is not None:
            if not isinstance(document.data, dict):
                problems.append(Finding(path.name, 1, 1, "not a job file (a mapping)", "remove it"))
            else:
                documents.append(document)
    if problems:
        raise ShrekError(
            f"cannot read the 2022 job files in {directory}",
            "fix the files as shown",
            ExitCode.INVALID,
            problems,
        )
    return documents


def _settle_site(registry: Registry, converted: Converted, site: str | None) -> None:
    """2022 took the site of every step that named none from its tool configuration
    (BNL_OSG_SPHENIX at BNL). Here it comes from ``--site``, else from ``shrek.yaml``'s
    ``panda.site``, and the import says which it used — or that PanDA will choose."""
    scope = (registry.settings.get("panda") or {}).get("scope")
    converted.notes.append(  # a registry's setting, not a tag's: said, never written here
        Note(
            "scope",
            0,
            f"outputs go to the scope {scope} (shrek.yaml panda.scope)"
            if scope
            else "outputs go to user.<your PanDA nickname> (panda-client's default): 2022 took "
            "its scope from its tool configuration; set panda.scope in shrek.yaml to choose",
        )
    )
    configured = (registry.settings.get("panda") or {}).get("site")
    chosen, source = (site, "--site") if site else (configured, "shrek.yaml panda.site")
    without = [
        name for name, step in converted.steps.items() if "site" not in step.get("requirements", {})
    ]
    if not without:
        return
    if chosen:
        for name in without:
            converted.steps[name]["requirements"]["site"] = str(chosen)
        what = f"{chosen} (from {source}) for the steps that named none: {', '.join(without)}"
    else:
        what = (
            f"no site for {', '.join(without)}: 2022 took one from its tool configuration "
            "(BNL_OSG_SPHENIX at BNL); PanDA will choose, unless you import with --site SITE "
            "or set panda.site in shrek.yaml"
        )
    converted.notes.append(Note("site", 0, what))


RESOURCE_DIR = "resources"  # resources/<step>/: each step's files, as 2022's __<name>/ held them


def _copy_resources(converted: Converted, root: Path, staging: Path) -> None:
    """Each step's resource globs, resolved under ``root`` (absolute ones as they are, then
    under ``root`` as if it were ``/``), copied into ``resources/<step>/`` of the tag — the
    step's ``resource_dir`` — so each job receives its own step's files flat in its working
    directory, as 2022's ``cp -R __<name>/* .`` did: two steps may both ship a
    ``G4_Production.C``, and macros find each other by name. A glob that matches nothing
    stops the import: every job would miss its macros."""
    missing = []
    for step, patterns in converted.resources.items():
        directory = f"{RESOURCE_DIR}/{step}"
        copied: dict[str, Path] = {}  # name in the job directory -> where it came from
        for pattern, file, line, column in patterns:
            matches = _resolve(root, pattern)
            if not matches:
                missing.append(Finding(file, line, column, f"resource {pattern} matches nothing"))
                continue
            for source in matches:
                name = source.name
                if name in copied:
                    if not _same(copied[name], source):
                        raise ShrekError(
                            f"{file}:{line}: resources {copied[name]} and {source} would both "
                            f"arrive as {name} in the jobs of {step}",
                            "keep the one 2022's jobs should have received (the Resources "
                            "entries of one step arrive in one directory), then import again",
                            ExitCode.CONFLICT,
                        )
                    continue
                (staging / directory).mkdir(parents=True, exist_ok=True)
                _copy(source, staging / directory / name)
                copied[name] = source
        if copied:
            converted.steps[step]["resource_dir"] = directory
            converted.steps[step]["resources"] = sorted(copied)
            _source_plugins(converted, step, staging / directory, patterns)
            converted.steps[step] = _ordered(converted.steps[step])
    if missing:
        raise ShrekError(
            f"{len(missing)} resource(s) of the 2022 files match nothing under {root}: the "
            "jobs would run without them",
            "import again with --resources-root DIR, the directory 2022's relative paths "
            "started from (absolute paths are looked for under it too, as if it were /)",
            ExitCode.NOT_FOUND,
            missing,
        )


def _resolve(root: Path, pattern: str) -> list[Path]:
    """The files a 2022 resource glob names: relative ones under ``root``; absolute ones
    where they are, else under ``root`` (a copy of the 2022 site's tree)."""
    candidates = [os.path.join(root, pattern)]
    if os.path.isabs(pattern):
        candidates.append(os.path.join(root, pattern.lstrip("/")))
    for candidate in candidates:
        matches = sorted(glob.glob(candidate))
        if matches:
            return [Path(m) for m in matches]
    return []


PLUGINS = "plugins"  # 2022's job script sourced plugins/*.sh of the job directory first


def _source_plugins(
    converted: Converted, step: str, received: Path, patterns: list[tuple[str, str, int, int]]
) -> None:
    """A step whose resources carry ``plugins/*.sh``: 2022's job script sourced each before
    the payload (they define the functions it calls); the imported payload does the same."""
    if not sorted((received / PLUGINS).glob("*.sh")):
        return
    command = converted.steps[step]["command"]
    lenient, _, rest = command.partition("\n")
    converted.steps[step]["command"] = (
        f'{lenient}\nfor f in {PLUGINS}/*.sh; do source "$f"; done  # shrek import: as 2022 did\n'
        + rest
    )
    _, file, line, _ = patterns[0]
    converted.notes.append(
        Note(file, line, f"{PLUGINS}/*.sh are sourced before the payload, as 2022's job script did")
    )


def _step_text(step: dict) -> str:
    """The step as YAML, its command as a literal block (as a person writes one), checked to
    read back exactly; plain YAML where a block could not say it."""
    before = {k: v for k, v in step.items() if k not in ("command", "requirements")}
    lines = [f"  {line}" if line else "" for line in step["command"].split("\n")[:-1]]
    text = dump_yaml(before) + "command: |2\n" + "\n".join(lines) + "\n"
    if "requirements" in step:
        text += dump_yaml({"requirements": step["requirements"]})
    try:
        if loads(text) == step:
            return text
    except yaml.YAMLError:
        pass
    return dump_yaml(step)


def _same(a: Path, b: Path) -> bool:
    if a.is_dir() or b.is_dir():
        return a.is_dir() and b.is_dir() and not filecmp.dircmp(a, b).diff_files
    return filecmp.cmp(a, b, shallow=False)


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, symlinks=False)
    else:
        shutil.copyfile(source, target)
        shutil.copymode(source, target)


def _ordered(step: dict) -> dict:
    """Keys in the order a person reads a step (resources before the command)."""
    order = [
        "name",
        "description",
        "parameters",
        "jobs",
        "inputs",
        "outputs",
        "resource_dir",
        "resources",
        "command",
        "requirements",
    ]
    return {k: step[k] for k in order if k in step} | {
        k: v for k, v in step.items() if k not in order
    }


def _notes_text(directory: Path, notes: list[Note]) -> str:
    lines = [
        "# Imported from 2022 job files",
        "",
        f"This tag was made by `shrek import` from `{directory.name}`. What could not be carried",
        "over faithfully is listed here, each at its place in the 2022 files; check each before",
        "freezing.",
        "",
    ]
    lines += [
        f"- `{n.file}:{n.line}`: {n.what}" if n.line else f"- {n.file}: {n.what}" for n in notes
    ] or ["Nothing: every key mapped."]
    return "\n".join(lines) + "\n"
