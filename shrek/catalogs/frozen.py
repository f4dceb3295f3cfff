"""A tag's frozen input lists read as a catalogue (``shrek verify --skip-datasets``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shrek.core.datasets import DatasetFile, DatasetInfo
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

    def infos(self, datasets: list[str]) -> dict[str, DatasetInfo]:
        return {}  # frozen lists are inputs, never outputs

    def datasets(self) -> list[DatasetInfo]:
        """The frozen inputs, with their files and bytes as the lists say."""
        found = []
        for dataset in sorted(self.lists):
            files = self.files(dataset) if self.lists[dataset].exists() else []
            found.append(DatasetInfo(dataset, len(files), sum(f.size for f in files), ""))
        return found

    def register(self, dataset: str, files: list[DatasetFile]) -> DatasetInfo:
        raise self._read_only(f"register files in '{dataset}'")

    def annotate(self, dataset: str, metadata: dict[str, Any]) -> bool:
        raise self._read_only(f"annotate '{dataset}'")

    @staticmethod
    def _read_only(action: str) -> ShrekError:
        return ShrekError(
            f"cannot {action}: a tag's frozen lists are read only",
            "register and annotate datasets in the registry's catalogue",
            ExitCode.USAGE,
        )

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
