"""Checking outputs where they are stored: ``shrek verify --outputs`` and the upstream check of
``submit``.

A catalogue says what each output file was when it was registered (name, size, checksum, where
it is). A file changed or deleted in the store afterwards used to be noticed only when a
downstream job failed on it — or not at all, when the job read it without complaint. Here every
catalogued file that has a replica on this machine is read back: it must exist, with its
catalogued size and adler32. A file whose replica is elsewhere (a grid storage element) cannot
be read here and is counted as unchecked, never as good.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shrek.catalogs.factory import open_catalog
from shrek.core.datasets import Catalog, DatasetFile
from shrek.core.hashing import adler32_file
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError


@dataclass(frozen=True)
class OutputProblem:
    """One catalogued output file that is not as it was registered."""

    dataset: str
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.dataset}: {self.file}: {self.message}"


@dataclass
class DatasetCheck:
    """What reading one dataset's files back found."""

    dataset: str
    files: int = 0
    bytes: int = 0
    unchecked: int = 0  # files with no replica on this machine
    problems: list[OutputProblem] = field(default_factory=list)


@dataclass
class OutputsCheck:
    """The output datasets of one tag's submissions, read back."""

    tag: str
    datasets: list[DatasetCheck] = field(default_factory=list)

    @property
    def problems(self) -> list[OutputProblem]:
        return [p for d in self.datasets for p in d.problems]

    @property
    def ok(self) -> bool:
        return not self.problems


def local_replica(item: DatasetFile) -> Path | None:
    """The file's replica on this machine, None when it has none (a grid storage element)."""
    if not item.location or "://" in item.location or not Path(item.location).is_absolute():
        return None
    return Path(item.location)


def file_problem(item: DatasetFile, location: Path) -> str | None:
    """What is wrong with the replica at ``location``, None when it is as catalogued."""
    try:
        size = location.stat().st_size
        if size != item.size:
            return f"changed: {size:,} bytes, catalogued {item.size:,} ({location})"
        wanted = _adler32(item.checksum)
        found = adler32_file(location) if wanted is not None else None
    except FileNotFoundError:
        return f"missing: {location} does not exist"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc} ({location})"
    if found != wanted:
        return f"changed: adler32 {found}, catalogued {wanted} ({location})"
    return None


def check_dataset(catalog: Catalog, dataset: str) -> DatasetCheck:
    """Read back every file of ``dataset`` that has a replica here (an unknown dataset raises
    the catalogue's NOT_FOUND error)."""
    result = DatasetCheck(dataset)
    for item in catalog.files(dataset):
        result.files += 1
        result.bytes += item.size
        location = local_replica(item)
        if location is None:
            result.unchecked += 1
            continue
        problem = file_problem(item, location)
        if problem:
            result.problems.append(OutputProblem(dataset, item.name, problem))
    return result


def verify_outputs(registry: Registry, names: list[str] | None = None) -> list[OutputsCheck]:
    """Every output dataset of the tags' submissions (all tags by default), read back. A
    dataset a record says jobs wrote to but the catalogue does not know is a problem too."""
    selected = [registry.resolve(n) for n in names] if names else registry.tag_names()
    catalog = open_catalog(registry, allow_open=True)
    results = []
    for name in dict.fromkeys(selected):
        check = OutputsCheck(name)
        for record in load_records(registry.tag_dir(name)):
            done = int((record.data.get("jobs") or {}).get("done", 0))
            for dataset in (record.data.get("datasets") or {}).get("outputs", {}).values():
                try:
                    check.datasets.append(check_dataset(catalog, dataset))
                except ShrekError as error:
                    if error.code != ExitCode.NOT_FOUND:
                        raise
                    if done:
                        message = f"{record.label} says {done} job(s) wrote to it"
                        check.datasets.append(
                            DatasetCheck(
                                dataset,
                                problems=[
                                    OutputProblem(dataset, "*", f"not in the catalogue: {message}")
                                ],
                            )
                        )
        results.append(check)
    return results


def require_intact(catalog: Catalog, dataset: str, consumer: str) -> None:
    """Refuse to feed a step from an upstream dataset whose files are not as catalogued (a
    dataset the catalogue does not know is left to the backend: it may live elsewhere)."""
    try:
        result = check_dataset(catalog, dataset)
    except ShrekError as error:
        if error.code == ExitCode.NOT_FOUND:
            return
        raise
    if result.problems:
        shown = "\n  ".join(str(p) for p in result.problems[:10])
        more = len(result.problems) - 10
        raise ShrekError(
            f"step {consumer} would read {dataset}, but {len(result.problems)} of its files are "
            f"not as catalogued:\n  {shown}" + (f"\n  … and {more} more" if more > 0 else ""),
            "restore the files, or submit the upstream step again (--again) and use its new "
            "outputs; 'shrek verify --outputs' lists every damaged output",
            ExitCode.NO_UPSTREAM,
        )


def _adler32(checksum: str) -> str | None:
    for part in checksum.split(","):
        kind, _, value = part.partition(":")
        if kind == "adler32" and value and value != "none":
            return value.lower().rjust(8, "0")
    return None
