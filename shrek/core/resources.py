"""Resolve a step's ``resources`` (paths, directories, globs) to the exact files that travel.

Resources are what a job gets shipped, so they must be exactly the files the reviewer saw: they
are resolved relative to the tag directory and must stay inside it. ``..`` that leaves the tag,
absolute paths and symlinks pointing out of the tag are refused, so a frozen tag cannot silently
depend on a file another tag (or the host) may change, and nothing outside the registry can be
shipped by a crafted path.
"""

from __future__ import annotations

import glob
import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from shrek.core.suggest import close_matches

_GLOB_CHARS = set("*?[")
# Files SHREK writes into a tag itself; they describe the tag and are never job resources.
_RESERVED = ("freeze.yaml", "submissions", "inputs", "README.md", "tag.yaml")


class ResourceFile(NamedTuple):
    """One file shipped to the worker: ``name`` is its path relative to the tag directory
    (its place in the sandbox); ``arrives_as`` its path in the job's working directory, when
    the step reads its resources from a ``resource_dir`` (2022's per-step layout)."""

    name: str
    location: str  # where it is on this machine (a Path only when asked: see path)
    arrives_as: str = ""

    @property
    def path(self) -> Path:
        """Where the file is. (Kept as text: validation expands every resource of every step
        and never needs a Path, whose construction cost a tenth of the expansion.)"""
        return Path(self.location)

    @property
    def target(self) -> str:
        """Where the job finds it, relative to its working directory."""
        return self.arrives_as or self.name


class ResourceProblem(NamedTuple):
    message: str
    fix: str


def resource_dir_problem(tag_dir: Path, within: str) -> ResourceProblem | None:
    """Why a step's ``resource_dir`` cannot hold its resources ('' -> None)."""
    refused = _refusal(within)
    if refused:
        return ResourceProblem(refused.message.replace("resource", "resource_dir", 1), refused.fix)
    if not (tag_dir / within).is_dir():
        return ResourceProblem(
            f"resource_dir '{within}' is not a directory of the tag",
            "create it in the tag directory and put the step's resources in it",
        )
    return None


@lru_cache(maxsize=4096)
def _real_directory(directory: str) -> str:
    return os.path.realpath(directory)


def _is_within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _refusal(pattern: str) -> ResourceProblem | None:
    """Why ``pattern`` may not name a resource at all (before looking at any file)."""
    if pattern.startswith(("/", "~")) or ":" in pattern.split("/")[0]:
        return ResourceProblem(
            f"resource '{pattern}' is an absolute path",
            "give the path relative to the tag directory and copy the file into the tag",
        )
    normal = os.path.normpath(pattern)
    if normal == ".." or normal.startswith(".." + os.sep) or normal == ".":
        return ResourceProblem(
            f"resource '{pattern}' leaves the tag directory",
            "copy the file into the tag directory (git stores identical files only once)",
        )
    parts = normal.split(os.sep)
    if parts[0] in _RESERVED or ".git" in parts:
        return ResourceProblem(
            f"resource '{pattern}' names a file SHREK manages, not a job resource",
            "ship only the files the job needs (scripts, macros, configuration)",
        )
    return None


def expand(
    tag_dir: Path, pattern: str, within: str = ""
) -> tuple[list[ResourceFile], ResourceProblem | None]:
    """The files ``pattern`` names, sorted, or the reason it names none acceptable.

    ``within``: the step's ``resource_dir``: ``pattern`` is relative to it, and each file
    arrives in the job's working directory at its path below it.

    Plain strings and ``os`` calls throughout: this runs for every resource of every step on
    each ``validate``, ``freeze`` and ``render``."""
    refused = _refusal(pattern)
    if refused:
        return [], refused
    if within:
        directory = resource_dir_problem(tag_dir, within)
        if directory:
            return [], directory
        inside, problem = expand(tag_dir, f"{within.rstrip('/')}/{pattern}")
        prefix = os.path.normpath(within).replace(os.sep, "/") + "/"
        return [
            ResourceFile(f.name, f.location, f.name.removeprefix(prefix)) for f in inside
        ], problem
    normal = os.path.normpath(pattern)
    base = str(tag_dir)
    if _GLOB_CHARS & set(pattern):
        matches = sorted(glob.glob(os.path.join(base, normal), recursive=True))
        if not matches:
            return [], ResourceProblem(
                f"resource glob '{pattern}' matches no file",
                "add the files to the tag directory or correct the pattern",
            )
    else:
        matches = [os.path.join(base, normal)]  # whether it exists: _files_under says
    found: dict[str, str] = {}
    for match in matches:
        problem = _files_under(match, base, pattern, found)
        if problem:
            return [], problem
    return [ResourceFile(name, found[name]) for name in sorted(found)], None


def _files_under(
    path: str, base: str, pattern: str, found: dict[str, str]
) -> ResourceProblem | None:
    """Add the regular files at or below ``path`` to ``found`` (name -> path), or say why
    ``path`` may not travel."""
    name = path[len(base) + 1 :].replace(os.sep, "/")  # every path here is base + sep + ...
    linked, info = _links(name, base)
    if info is None:
        return ResourceProblem(
            f"resource '{pattern}' does not exist", _closest_fix(Path(base), name)
        )
    if linked:  # only a link can lead out of the tag
        real = os.path.realpath(path)
        if not _is_within(real, _real_directory(base)):
            return ResourceProblem(
                f"resource '{pattern}' includes {name}, a symlink leading outside the tag "
                "directory",
                "replace the symlink by a copy of the file inside the tag directory",
            )
        try:
            mode = os.stat(real).st_mode
        except OSError as exc:
            return ResourceProblem(
                f"resource '{pattern}' includes {name}, which cannot be read ({exc.strerror}; "
                "a dangling or looping symlink?)",
                "replace it by the real file",
            )
    else:
        mode = info.st_mode  # no link on the way: the path's own stat
    if stat.S_ISDIR(mode):
        for child in sorted(os.listdir(path)):
            problem = _files_under(os.path.join(path, child), base, pattern, found)
            if problem:
                return problem
        return None
    if not stat.S_ISREG(mode):
        return ResourceProblem(
            f"resource '{pattern}' includes {name}, which is not a regular file",
            "ship regular files only",
        )
    found[name] = path
    return None


def _links(name: str, base: str) -> tuple[bool, os.stat_result | None]:
    """Whether any part of ``name`` below the tag directory is a symbolic link (only then can
    it lead outside; resolving every path in full was 16 % of validate's time), and the
    path's own ``lstat`` (None when it does not exist): one call per part, and no further one
    for a path without links."""
    current = base
    linked = False
    info = None
    for part in name.split("/"):
        current = os.path.join(current, part)
        try:
            info = os.lstat(current)
        except OSError:  # as os.path.lexists: a missing part, a file where a directory is
            return linked, None
        linked = linked or stat.S_ISLNK(info.st_mode)
    return linked, info


def _closest_fix(tag_dir: Path, missing: str) -> str:
    candidates = [
        p.relative_to(tag_dir).as_posix()
        for p in tag_dir.rglob("*")
        if p.is_file() and ".git" not in p.parts
    ]
    close = close_matches(missing, candidates, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "add the file to the tag directory, or remove it from resources"
