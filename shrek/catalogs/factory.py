"""Open the catalogue a registry uses (``catalog:`` in shrek.yaml), or a named one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shrek.core.datasets import Catalog, StoreCatalog
from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError

CATALOGS = ("local", "rucio")
LOCAL_CATALOG_FILE = "catalog.sqlite"  # in the registry's working state, .shrek/


def local_catalog_path(registry: Registry) -> Path:
    return registry.state_dir / LOCAL_CATALOG_FILE


def local_catalog(registry: Registry) -> StoreCatalog:
    """This machine's catalogue (``.shrek/``), which knows each output file's job and the
    datasets marked invalid here, whatever catalogue the registry publishes to."""
    from shrek.catalogs.local import LocalCatalog

    return LocalCatalog(local_catalog_path(registry))


def frozen_lists(tag_dir: Path, frozen: dict[str, Any]) -> Catalog:
    """A tag's frozen input lists read as a catalogue (``verify --skip-datasets``)."""
    from shrek.catalogs.frozen import FrozenListCatalog

    return FrozenListCatalog(tag_dir, frozen)


def open_catalog(
    registry: Registry, kind: str | None = None, *, allow_open: bool = False
) -> Catalog:
    """The registry's catalogue, or ``kind`` when given. ``allow_open``: Rucio datasets that
    are still open may be listed (verify reports their drift; freeze refuses them)."""
    kind = kind or registry.settings.get("catalog", "local")
    if kind == "local":
        from shrek.catalogs.local import LocalCatalog

        return LocalCatalog(local_catalog_path(registry))
    if kind == "rucio":
        from shrek.catalogs.rucio import RucioCatalog

        return RucioCatalog(registry.settings.get("rucio", {}), allow_open=allow_open)
    raise ShrekError(
        f"unknown catalogue '{kind}'",
        "set 'catalog: local' or 'catalog: rucio' in shrek.yaml",
        ExitCode.USAGE,
    )
