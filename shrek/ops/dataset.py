"""``shrek dataset``: register existing files as a dataset of the catalogue, list and describe
them (with the submission that made each, and whether it was invalidated)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from shrek.catalogs import Catalog, DatasetFile, DatasetInfo
from shrek.catalogs.factory import open_catalog
from shrek.core.hashing import THREADS_FROM_BYTES, adler32_file
from shrek.core.lifecycle import invalid_datasets
from shrek.core.progress import Progress, no_progress
from shrek.core.registry import Registry
from shrek.core.taint import registry_taints
from shrek.errors import ExitCode, ShrekError
from shrek.ops.provenance import Finder

# A container name may end in '/' (2022's productions read such containers by name).
DATASET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:+-]*/?")
FILE_NAME = re.compile(r"[^\s/]+")


def read_path_list(source: str, stdin: TextIO) -> list[str]:
    """Paths, one per line, from the file ``source`` or (``-``) from ``stdin``; blank lines and
    ``#`` comments are skipped. Kept as text: a list of 100,000 files made 100,000 Paths, a
    third of ``dataset add``'s time."""
    if source == "-":
        text = stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ShrekError(
                f"cannot read the list of files {source}: {getattr(exc, 'strerror', exc)}",
                "give a readable text file with one path per line",
                ExitCode.USAGE,
            ) from exc
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def add_files(
    catalog: Catalog,
    dataset: str,
    paths: Sequence[str | os.PathLike[str]],
    *,
    progress: Progress = no_progress,
) -> DatasetInfo:
    """Checksum ``paths`` and register them (by absolute path) as files of ``dataset``."""
    if not DATASET_NAME.fullmatch(dataset):
        raise ShrekError(
            f"'{dataset}' is not a valid dataset name",
            "use letters, digits and '_', '.', ':', '+', '-' (a container may end in '/')",
            ExitCode.USAGE,
        )
    if not paths:
        raise ShrekError("no files given", f"shrek dataset add {dataset} FILE...", ExitCode.USAGE)
    seen: dict[str, str] = {}  # file name -> its path
    sizes: dict[str, int] = {}  # path -> size
    for given in paths:
        path = os.fspath(given)
        try:
            info = os.stat(path)
        except OSError:
            info = None
        if info is None or not stat.S_ISREG(info.st_mode):
            raise ShrekError(f"{path} is not a file", "give existing files", ExitCode.USAGE)
        sizes[path] = info.st_size
        name = os.path.basename(path)
        if not FILE_NAME.fullmatch(name):
            raise ShrekError(
                f"file name {name!r} contains white space", "rename the file", ExitCode.USAGE
            )
        if name in seen and os.path.realpath(seen[name]) != os.path.realpath(path):
            raise ShrekError(
                f"two files named {name}: {seen[name]} and {path}",
                "files of one dataset need distinct names",
                ExitCode.USAGE,
            )
        seen[name] = path
    unique = list(seen.items())
    with progress(f"checksumming {dataset}", len(unique), "files") as tick:

        def checksum(chunk: list[tuple[str, str]]) -> list[DatasetFile]:
            done = []
            for name, path in chunk:
                value = adler32_file(path)
                # the location is read in place later: a link is followed now
                where = os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)
                done.append(DatasetFile(name, sizes[path], f"adler32:{value}", where))
                tick(1)
            return done

        # a few threads, each with a share of the files (a thread per file costs more than
        # checksumming a small one)
        workers = max(1, min(4, os.cpu_count() or 1, len(unique)))
        if sum(sizes[p] for _, p in unique) < THREADS_FROM_BYTES:
            workers = 1  # small files: reading them is quicker than sharing the interpreter
        chunks = [unique[n::workers] for n in range(workers)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            files = sorted(
                (f for part in pool.map(checksum, chunks) for f in part), key=lambda f: f.name
            )
    return catalog.register(dataset, files)


def register_files(
    registry: Registry,
    dataset: str,
    paths: Sequence[str | os.PathLike[str]],
    *,
    progress: Progress = no_progress,
) -> DatasetInfo:
    """``shrek dataset add``: :func:`add_files` into the registry's catalogue."""
    return add_files(open_catalog(registry), dataset, paths, progress=progress)


def listing(registry: Registry) -> list[dict[str, Any]]:
    """The catalogue's datasets (``dataset list``), each with why it is invalid ('' if not)."""
    invalid = invalid_datasets(registry.tags_dir)
    taints = registry_taints(registry.tags_dir)
    return [
        {
            **info._asdict(),
            "invalid": invalid[info.name][1] if info.name in invalid else "",
            "tainted": taints.of_dataset(info.name),
        }
        for info in open_catalog(registry).datasets()
    ]


def described(registry: Registry, name: str) -> dict[str, Any]:
    """A dataset's files, the submission that made it (None: an external dataset) and why it
    is invalid ('' if it is not): ``dataset show``."""
    files = open_catalog(registry).files(name)
    node = Finder(registry).dataset(name)
    invalid = invalid_datasets(registry.tags_dir).get(name)
    return {
        "dataset": name,
        "files": [f._asdict() for f in files],
        "origin": node.origin.as_dict() if node is not None and node.origin else None,
        "invalid": invalid[1] if invalid else "",
        "tainted": registry_taints(registry.tags_dir).of_dataset(name),
    }
