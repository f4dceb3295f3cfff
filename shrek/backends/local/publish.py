"""Register a finished local submission's outputs in Rucio (``catalog: rucio``).

The local backend always catalogues its outputs locally (downstream steps read them from
there); with the Rucio catalogue, each output of a ``done`` or ``finished`` submission is
also uploaded to the registry's RSE as a dataset named by the tag, with its provenance as
dataset metadata — Rucio's own columns (``campaign`` = the tag, ``prod_step`` = the step,
``version`` = the registry commit of the journal, ``stream_name`` = the submission) and, where
the server keeps JSON metadata, ``shrek_provenance`` (also every file's job) — and the record
names the DIDs. Upload first, record after: a failure leaves
the record as it was, and the next ``shrek status`` tries again (files already in the dataset
are skipped).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shrek.catalogs import DatasetFile
from shrek.catalogs.factory import local_catalog_path, open_catalog
from shrek.core.records import COMPLETED, Record
from shrek.core.registry import Registry

if TYPE_CHECKING:
    from shrek.catalogs.local import LocalCatalog


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
    from shrek.catalogs.local import LocalCatalog  # SQLite: only when there is work to publish

    local = LocalCatalog(local_catalog_path(registry))
    rucio = open_catalog(registry, "rucio")
    published = dict(record.data["datasets"].get("rucio") or {})
    for output, dataset in record.data["datasets"]["outputs"].items():
        if output in published:
            continue
        files = local.files(dataset)
        info = rucio.register(dataset, files)
        summary = provenance_summary(record, local, dataset, files)
        columns = {
            "campaign": record.data["tag"],
            "prod_step": record.step,
            "version": summary["registry_commit"],
            "stream_name": summary["submission"],
        }
        rucio.annotate(
            info.name,
            {
                **{k: v for k, v in columns.items() if v and len(v) <= 50},
                "shrek_provenance": summary,
            },
        )
        published[output] = info.name
    record.data["datasets"]["rucio"] = published
    record.data["history"].append(
        {
            **record.data["history"][-1],
            "note": "outputs registered in Rucio: " + ", ".join(published.values()),
        }
    )
    return True


def provenance_summary(
    record: Record, local: LocalCatalog, dataset: str, files: list[DatasetFile]
) -> dict[str, Any]:
    """What Rucio keeps of a dataset's provenance: the submission, the registry commit of its
    journal, the freeze, and each file's job (its provenance file, as the job wrote it)."""
    data = record.data
    locations = local.provenances(dataset)
    jobs = {}
    for item in files:
        if item.name in locations:
            with contextlib.suppress(OSError, ValueError):
                jobs[item.name] = json.loads(Path(locations[item.name]).read_text("utf-8"))
    return {
        "tag": data["tag"],
        "step": data["step"],
        "submission": data["id"],
        "registry_commit": data["submitted"].get("journal_commit", ""),
        "freeze_digest": data.get("freeze_digest"),
        "jobs": jobs,
    }
