"""A tag's frozen input lists read as a catalogue (``shrek verify --skip-datasets``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shrek.core.datasets import DatasetFile
from shrek.core.freeze import read_list
from shrek.errors import ExitCode, ShrekError


class FrozenListCatalog:
    """Reads input file lists from a tag's frozen ``inputs/*.files`` instead of a catalogue.

    For ``verify --skip-datasets`` where no catalogue is reachable (a CI runner): the lists'
    integrity is still checked against freeze.yaml, but not their agreement with the catalogue.
    """

    kind = "frozen"

    def __init__(self, tag_dir: Path, frozen: dict[str, Any]) -> None:
        self.lists = {i["dataset"]: tag_dir / i["list"] for i in frozen["inputs"]}

    def describe(self) -> str:
        return "frozen lists"

    def did(self, dataset: str) -> str | None:
        return None

    def infos(self, datasets: list[str]) -> dict:
        return {}  # frozen lists are inputs, never outputs

    def exists(self, dataset: str) -> bool:
        return dataset in self.lists

    def files(self, dataset: str) -> list[DatasetFile]:
        path = self.lists.get(dataset)
        if path is None or not path.exists():
            raise ShrekError(
                f"dataset '{dataset}' has no frozen file list",
                "verify with the catalogue (without --skip-datasets)",
                ExitCode.NOT_FOUND,
            )
        entries = read_list(path, f"tags/{path.parent.parent.name}/inputs/{path.name}")
        return [DatasetFile(name, size, checksum) for name, (size, checksum) in entries.items()]
