"""``shrek dataset``: register existing files as a dataset of the catalogue, and list them."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shrek.catalogs import Catalog, DatasetFile, DatasetInfo
from shrek.core.hashing import adler32_file
from shrek.core.progress import Progress, no_progress
from shrek.errors import ExitCode, ShrekError

DATASET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:+-]*")
FILE_NAME = re.compile(r"[^\s/]+")


def add_files(
    catalog: Catalog, dataset: str, paths: list[Path], *, progress: Progress = no_progress
) -> DatasetInfo:
    """Checksum ``paths`` and register them (by absolute path) as files of ``dataset``."""
    if not DATASET_NAME.fullmatch(dataset):
        raise ShrekError(
            f"'{dataset}' is not a valid dataset name",
            "use letters, digits and '_', '.', ':', '+', '-'",
            ExitCode.USAGE,
        )
    if not paths:
        raise ShrekError("no files given", f"shrek dataset add {dataset} FILE...", ExitCode.USAGE)
    seen: dict[str, Path] = {}
    for path in paths:
        if not path.is_file():
            raise ShrekError(f"{path} is not a file", "give existing files", ExitCode.USAGE)
        if not FILE_NAME.fullmatch(path.name):
            raise ShrekError(
                f"file name {path.name!r} contains white space", "rename the file", ExitCode.USAGE
            )
        if path.name in seen and seen[path.name].resolve() != path.resolve():
            raise ShrekError(
                f"two files named {path.name}: {seen[path.name]} and {path}",
                "files of one dataset need distinct names",
                ExitCode.USAGE,
            )
        seen[path.name] = path
    unique = list(seen.values())
    with progress(f"checksumming {dataset}", len(unique), "files") as tick:

        def checksum(path: Path) -> DatasetFile:
            value = adler32_file(path)
            tick(1)
            return DatasetFile(
                path.name, path.stat().st_size, f"adler32:{value}", str(path.resolve())
            )

        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            files = list(pool.map(checksum, unique))
    return catalog.register(dataset, files)
