"""Register a finished local submission's outputs in Rucio (``catalog: rucio``).

The local backend always catalogues its outputs locally (downstream steps read them from
there); with the Rucio catalogue, each output of a ``done`` or ``finished`` submission is
also uploaded to the registry's RSE as a dataset named by the tag, and the record names the
DIDs. Upload first, record after: a failure leaves the record as it was, and the next
``shrek status`` tries again (files already in the dataset are skipped).
"""

from __future__ import annotations

from shrek.catalogs.factory import local_catalog_path, open_catalog
from shrek.catalogs.local import LocalCatalog
from shrek.core.records import COMPLETED, Record
from shrek.core.registry import Registry


def needs_publishing(registry: Registry, record: Record) -> bool:
    return (
        registry.settings.get("catalog") == "rucio"
        and record.backend == "local"
        and record.state in COMPLETED
        and not record.test
        and set(record.data["datasets"].get("rucio") or {})
        != set(record.data["datasets"]["outputs"])
    )


def publish(registry: Registry, record: Record) -> bool:
    """Upload the record's outputs to Rucio; True when the record changed."""
    if not needs_publishing(registry, record):
        return False
    local = LocalCatalog(local_catalog_path(registry))
    rucio = open_catalog(registry, "rucio")
    published = dict(record.data["datasets"].get("rucio") or {})
    for output, dataset in record.data["datasets"]["outputs"].items():
        if output in published:
            continue
        info = rucio.register(dataset, local.files(dataset))
        published[output] = info.name
    record.data["datasets"]["rucio"] = published
    record.data["history"].append(
        {
            **record.data["history"][-1],
            "note": "outputs registered in Rucio: " + ", ".join(published.values()),
        }
    )
    return True
