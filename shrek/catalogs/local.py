"""The embedded local catalogue: datasets and their files in SQLite under ``.shrek/``.

It lives in the registry's git-ignored working state: it describes files on this machine, not
the production's definition. Writes are transactions, so an interrupted ``dataset add``
registers all of its files or none.

A file inside the registry's directory (every local output, in ``.shrek/store/``) is recorded
by its path relative to that directory, so a registry copied or moved with its ``.shrek/``
reads — and ``verify --outputs`` checks — its own files, not the original's. Files elsewhere
(external datasets) keep their absolute path; so do the entries an older SHREK wrote.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shrek.catalogs import DatasetFile, DatasetInfo, unknown_dataset
from shrek.errors import ExitCode, ShrekError

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT PRIMARY KEY,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    dataset TEXT NOT NULL REFERENCES datasets(name),
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    location TEXT NOT NULL,
    PRIMARY KEY (dataset, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS provenance (
    dataset TEXT NOT NULL,
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    PRIMARY KEY (dataset, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS invalid (
    dataset TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


class LocalCatalog:
    kind = "local"

    def __init__(self, path: Path) -> None:
        self.path = path
        # the registry's directory: the catalogue is <registry>/.shrek/<file>
        self.base = Path(os.path.abspath(path)).parent.parent
        self._bases = tuple(dict.fromkeys((str(self.base), os.path.realpath(self.base))))

    def _stored(self, location: str) -> str:
        """How ``location`` is recorded: relative to the registry when inside it."""
        for base in self._bases:
            if location.startswith(base + os.sep):
                return location[len(base) + 1 :]
        return location

    def _located(self, location: str) -> str:
        """Where a recorded location is on this machine."""
        if not location or os.path.isabs(location) or "://" in location:
            return location  # none given, an absolute path, a URL
        return os.path.join(self.base, location)

    def describe(self) -> str:
        return "local catalogue"

    def did(self, dataset: str) -> str | None:
        return None  # the name is the identifier

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction (committed on success, rolled back on an error, then
        closed); SQLite's own errors become one message naming the file and the way out."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=60)
            try:
                with connection:
                    try:
                        connection.executescript(SCHEMA)
                    except sqlite3.OperationalError as exc:
                        if "readonly" not in str(exc):
                            raise
                        # a catalogue this user may only read, made by an older SHREK: read
                        # it as it is (the tables it lacks read as empty)
                    yield connection
            finally:
                connection.close()
        except sqlite3.DatabaseError as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: sqlite3.DatabaseError) -> ShrekError:
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
            return ShrekError(
                f"the local catalogue {self.path} stayed locked for 60 s ({text})",
                "another shrek command or local runner is writing to it: wait for it, then "
                "re-run the command",
                ExitCode.BACKEND,
            )
        if isinstance(exc, sqlite3.OperationalError) and (
            "unable to open" in text or "readonly" in text or "disk" in text or "full" in text
        ):
            return ShrekError(
                f"the local catalogue {self.path} cannot be read or written ({text})",
                "check the permissions and free space of the registry's .shrek directory",
                ExitCode.FILESYSTEM,
            )
        return ShrekError(
            f"the local catalogue {self.path} is damaged ({text})",
            f"it is this machine's working state, not the production's record: move it aside "
            f"(mv '{self.path}' '{self.path}.damaged'), then register the external datasets "
            "again (shrek dataset add) — the records in git name every dataset and the files "
            "of local outputs are still in .shrek/store/",
            ExitCode.FILESYSTEM,
        )

    def files(self, dataset: str) -> list[DatasetFile]:
        with self._connect() as db:
            if not db.execute("SELECT 1 FROM datasets WHERE name = ?", (dataset,)).fetchone():
                known = [row[0] for row in db.execute("SELECT name FROM datasets")]
                raise unknown_dataset(dataset, known, "local catalogue")
            rows = db.execute(
                "SELECT name, size, checksum, location FROM files WHERE dataset = ? ORDER BY name",
                (dataset,),
            ).fetchall()
        return [
            DatasetFile(name, size, checksum, self._located(location))
            for name, size, checksum, location in rows
        ]

    def infos(self, datasets: list[str]) -> dict[str, DatasetInfo]:
        if not datasets or not self.path.exists():
            return {}
        found = {}
        with self._connect() as db:
            for start in range(0, len(datasets), 500):  # SQLite's bound-parameter limit
                chunk = datasets[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    "SELECT d.name, COUNT(f.name), COALESCE(SUM(f.size), 0), d.created "
                    "FROM datasets d LEFT JOIN files f ON f.dataset = d.name "
                    f"WHERE d.name IN ({marks}) GROUP BY d.name",
                    chunk,
                ).fetchall()
                found.update({row[0]: DatasetInfo(*row) for row in rows})
        return found

    def exists(self, dataset: str) -> bool:
        if not self.path.exists():
            return False
        with self._connect() as db:
            return bool(db.execute("SELECT 1 FROM datasets WHERE name = ?", (dataset,)).fetchone())

    def datasets(self) -> list[DatasetInfo]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT d.name, COUNT(f.name), COALESCE(SUM(f.size), 0), d.created "
                "FROM datasets d LEFT JOIN files f ON f.dataset = d.name "
                "GROUP BY d.name ORDER BY d.name"
            ).fetchall()
        return [DatasetInfo(*row) for row in rows]

    def provenance(self, dataset: str, name: str) -> str | None:
        """Where the provenance file of ``name`` in ``dataset`` is (None: not catalogued)."""
        if not self.path.exists():
            return None
        with self._connect() as db:
            rows = _rows_if_table(
                db,
                "SELECT location FROM provenance WHERE dataset = ? AND name = ?",
                (dataset, name),
            )
        return self._located(rows[0][0]) if rows else None

    def provenances(self, dataset: str) -> dict[str, str]:
        """Every file of ``dataset`` with a provenance file: name -> where it is (one query)."""
        if not self.path.exists():
            return {}
        with self._connect() as db:
            rows = _rows_if_table(
                db, "SELECT name, location FROM provenance WHERE dataset = ?", (dataset,)
            )
        return {name: self._located(location) for name, location in rows}

    def mark_invalid(self, dataset: str, reason: str) -> None:
        """``shrek invalidate``: the dataset stays (its files are evidence) but is marked."""
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO invalid (dataset, reason, at) VALUES (?, ?, ?)",
                (dataset, reason, at),
            )

    def annotate(self, dataset: str, metadata: dict[str, Any]) -> bool:
        """The local catalogue keeps no free metadata: what SHREK records about a dataset here
        has tables of its own (``provenance``, ``invalid``), and the records in git say the
        rest. False: nothing of ``metadata`` was kept."""
        return False

    def invalid(self) -> dict[str, str]:
        """Every dataset marked invalid, with the reason."""
        if not self.path.exists():
            return {}
        with self._connect() as db:
            return dict(_rows_if_table(db, "SELECT dataset, reason FROM invalid", ()))

    def find(self, name: str) -> list[tuple[str, DatasetFile]]:
        """Every (dataset, file) with this file name, or whose file is at this path."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            rows = db.execute(
                "SELECT dataset, name, size, checksum, location FROM files "
                "WHERE name = ? OR location IN (?, ?) ORDER BY dataset",
                (name, name, self._stored(name)),
            ).fetchall()
        return [
            (dataset, DatasetFile(file, size, checksum, self._located(location)))
            for dataset, file, size, checksum, location in rows
        ]

    def register(
        self, dataset: str, files: list[DatasetFile], provenance: str | None = None
    ) -> DatasetInfo:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO datasets (name, created) VALUES (?, ?)", (dataset, now)
            )
            for item in files:
                existing = db.execute(
                    "SELECT size, checksum FROM files WHERE dataset = ? AND name = ?",
                    (dataset, item.name),
                ).fetchone()
                if existing and tuple(existing) != (item.size, item.checksum):
                    raise ShrekError(
                        f"dataset '{dataset}' already has a different file named {item.name} "
                        f"({existing[0]} bytes, {existing[1]})",
                        "files in a dataset never change; register the new file under another "
                        "name or in a new dataset",
                        ExitCode.CONFLICT,
                    )
                if not existing:
                    db.execute(
                        "INSERT INTO files (dataset, name, size, checksum, location) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (dataset, item.name, item.size, item.checksum, self._stored(item.location)),
                    )
                if provenance:  # the job's provenance file: catalogued beside, never a file
                    db.execute(
                        "INSERT OR IGNORE INTO provenance (dataset, name, location) "
                        "VALUES (?, ?, ?)",
                        (dataset, item.name, self._stored(provenance)),
                    )
            return self._info(db, dataset)

    @staticmethod
    def _info(db: sqlite3.Connection, dataset: str) -> DatasetInfo:
        """One dataset's totals, through the primary key: a job's registration must not cost
        a scan of the whole catalogue (100,000 files: milliseconds per job)."""
        row = db.execute(
            "SELECT d.name, COUNT(f.name), COALESCE(SUM(f.size), 0), d.created "
            "FROM datasets d LEFT JOIN files f ON f.dataset = d.name "
            "WHERE d.name = ? GROUP BY d.name",
            (dataset,),
        ).fetchone()
        return DatasetInfo(*row)


def _rows_if_table(db: sqlite3.Connection, sql: str, args: tuple[str, ...]) -> list[tuple]:
    """The rows of a query on a table an older catalogue may lack (read-only, it was not
    upgraded): none when the table is not there."""
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
