"""Datasets as SHREK sees them, and what it needs of a catalogue that holds them.

The data types and the interface live in the core because freezing a tag is about the files
of its input datasets; the catalogues themselves (the embedded SQLite one, Rucio) are adapters
in :mod:`shrek.catalogs` that implement :class:`Catalog`.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from shrek.core.suggest import close_matches
from shrek.errors import ExitCode, ShrekError


class DatasetFile(NamedTuple):
    """One file of a dataset: its name within the dataset, size and checksum.

    ``checksum`` names its algorithm (``adler32:0a1b2c3d``) so lists from different catalogues
    say what they mean. ``location`` is where the local backend can read the file (a path), or
    empty when the catalogue does not say.
    """

    name: str
    size: int
    checksum: str
    location: str = ""


class DatasetInfo(NamedTuple):
    name: str
    files: int
    bytes: int
    created: str


class Catalog(Protocol):
    """What SHREK needs of a catalogue."""

    kind: str

    def describe(self) -> str:
        """Where this catalogue is (a path or a server URL), for records."""
        ...

    def files(self, dataset: str) -> list[DatasetFile]:
        """The dataset's files sorted by name; raises ShrekError for an unknown dataset."""
        ...

    def datasets(self) -> list[DatasetInfo]: ...

    def infos(self, datasets: list[str]) -> dict[str, DatasetInfo]:
        """Files and bytes of the datasets the catalogue holds (the others are left out), in
        as few calls as it can: ``shrek status`` shows them for every record."""
        ...

    def exists(self, dataset: str) -> bool:
        """Whether the catalogue holds ``dataset`` (empty or not): a submission refuses to write
        an output dataset that exists."""
        ...

    def register(self, dataset: str, files: list[DatasetFile]) -> DatasetInfo:
        """Add files to a dataset (created if new); re-adding an identical file is a no-op."""
        ...

    def did(self, dataset: str) -> str | None:
        """The dataset's identifier in the catalogue where it differs from the name SHREK
        uses (Rucio's ``scope:name``), recorded in freeze.yaml; None otherwise."""
        ...

    def annotate(self, dataset: str, metadata: dict[str, Any]) -> bool:
        """Attach metadata to a dataset (its provenance, an invalidation); False when the
        catalogue kept none of it (the local one) or only part (a Rucio server without JSON
        metadata)."""
        ...


class StoreCatalog(Catalog, Protocol):
    """The catalogue of this machine's files (the registry's ``.shrek/``), which also knows
    the job that made each output file and which datasets were marked invalid here:
    provenance, ``reproduce`` and ``invalidate`` read it whatever catalogue the registry
    publishes to."""

    def register(
        self, dataset: str, files: list[DatasetFile], provenance: str | None = None
    ) -> DatasetInfo:
        """``register``, with the job's provenance file catalogued beside each file."""
        ...

    def provenance(self, dataset: str, name: str) -> str | None:
        """Where the provenance file of one catalogued file is, or None."""
        ...

    def provenances(self, dataset: str) -> dict[str, str]:
        """Every file of ``dataset`` with a provenance file: name -> where it is."""
        ...

    def mark_invalid(self, dataset: str, reason: str) -> None: ...

    def invalid(self) -> dict[str, str]:
        """Every dataset marked invalid, with the reason."""
        ...

    def find(self, name: str) -> list[tuple[str, DatasetFile]]:
        """Every (dataset, file) with this file name, or whose file is at this path."""
        ...


def unknown_dataset(name: str, known: list[str], where: str) -> ShrekError:
    close = close_matches(name, known, n=3)
    fix = (f"did you mean {', '.join(close)}? " if close else "") + (
        f"register it first: shrek dataset add {name} FILES..."
    )
    return ShrekError(f"dataset '{name}' is not in the {where}", fix, ExitCode.NOT_FOUND)
