"""The local catalogue: an older catalogue in a checkout this user may only read."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import as_another_user

OLD_SCHEMA = """
CREATE TABLE datasets (name TEXT PRIMARY KEY, created TEXT NOT NULL);
CREATE TABLE files (dataset TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
    checksum TEXT NOT NULL, location TEXT NOT NULL, PRIMARY KEY (dataset, name)) WITHOUT ROWID;
INSERT INTO datasets VALUES ('ds', '2026-01-01T00:00:00Z');
INSERT INTO files VALUES ('ds', 'a.root', 3, 'adler32:00000001', '/data/a.root');
"""

READ = """
import sys
from pathlib import Path
from shrek.catalogs.local import LocalCatalog
catalog = LocalCatalog(Path(sys.argv[1]))
assert [f.name for f in catalog.files("ds")] == ["a.root"]
assert catalog.provenance("ds", "a.root") is None
assert catalog.invalid() == {}
assert [d for d, _ in catalog.find("a.root")] == ["ds"]
print("read")
"""


def test_an_older_catalogue_is_read_where_it_cannot_be_upgraded(tmp_path: Path) -> None:
    """A catalogue made before the provenance and invalid tables, in a directory this user
    may not write: read as it is, its missing tables empty (never 'damaged')."""
    directory = tmp_path / "shared"
    directory.mkdir()
    path = directory / "catalog.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    reader = as_another_user(tmp_path)
    directory.chmod(0o555)
    path.chmod(0o444)
    try:
        done = subprocess.run(
            [*reader, sys.executable, "-c", READ, str(path)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            timeout=60,
        )
    finally:
        directory.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "read"
