"""A private PostgreSQL 15 cluster with PanDA's schema (panda-database 0.1.6), seeded for one VO.

The schema is loaded the way its ``panda_db_init.sh`` does, from the copy in
``../shared/third_party/panda-database-0.1.6`` (or ``PANDA_DATABASE_DIR``), with three
adjustments Debian's pg_partman 4.7 and a loopback cluster need: ``p_type => 'native'``, the
table ``worker_node_queue`` created before the scheduler jobs that read it, and pg_cron jobs that
connect to 127.0.0.1 (without it the minute job that makes JEDI see datasets never runs).
PostgreSQL refuses to run as root: under root the cluster belongs to the ``postgres`` user.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port

VO = "sphenix"
QUEUE = "SPHENIX_TEST"
SITE = "SPHENIX_TEST_SITE"
DB_PASSWORD = "panda-test-password"  # a loopback, trust-auth test cluster: not a secret
SCHEMA_COMPONENTS = ("PANDA", "PANDAMETA", "PANDAARCH", "PANDABIGMON", "DEFT", "PARTITION")
SCHEMA_PARTS = (
    "TABLE",
    "VIEW",
    "TYPE",
    "SEQUENCE",
    "FUNCTION",
    "TRIGGER",
    "SCHEDULER_JOBS",
    "PROCEDURE",
)


def pg_bindir() -> Path | None:
    """PostgreSQL 15's server binaries (Debian keeps them off PATH)."""
    for candidate in (os.environ.get("PG_BINDIR"), "/usr/lib/postgresql/15/bin"):
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def extensions_missing() -> list[str]:
    """Debian packages the cluster needs that are not installed."""
    share = Path("/usr/share/postgresql/15/extension")
    return [
        package
        for package, control in (
            ("postgresql-15-cron", "pg_cron.control"),
            ("postgresql-15-partman", "pg_partman.control"),
        )
        if not (share / control).exists()
    ]


def schema_dir() -> Path | None:
    """panda-database's ``schema/postgres/sqls``: PANDA_DATABASE_DIR, else the copy
    ``make install-panda-stack`` keeps in the PanDA environment, else the shared copy."""
    here = Path(__file__).resolve()
    venv = Path(os.environ.get("PANDA_STACK_VENV", here.parents[2] / ".venv-panda"))
    candidates = [os.environ.get("PANDA_DATABASE_DIR"), str(venv / "panda-database-0.1.6")]
    candidates += [str(p / "shared/third_party/panda-database-0.1.6") for p in here.parents]
    for candidate in candidates:
        if candidate and (Path(candidate) / "schema/postgres/sqls/pg_PANDA_TABLE.sql").exists():
            return Path(candidate) / "schema/postgres/sqls"
    return None


@dataclass
class Cluster:
    """One running private cluster."""

    directory: Path
    port: int
    bindir: Path
    log: Path

    def psql(
        self,
        sql: str | None = None,
        *,
        file: Path | None = None,
        database: str = "panda_db",
        check: bool = True,
        stop_on_error: bool = True,
    ) -> str:
        args = [
            "psql",
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            f"ON_ERROR_STOP={1 if stop_on_error else 0}",
            "-tA",
        ]
        args += ["-f", str(file)] if file else ["-c", sql or ""]
        run = subprocess.run(args, capture_output=True, text=True)
        if check and run.returncode:
            raise RuntimeError(f"psql failed ({file or sql}):\n{run.stderr[-3000:]}")
        return run.stdout

    def stop(self) -> None:
        _as_owner(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.directory / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            check=False,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


def _owner() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam("postgres")


def _as_owner(args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    owner = _owner()
    if owner is not None:
        args = [
            "setpriv",
            f"--reuid={owner.pw_uid}",
            f"--regid={owner.pw_gid}",
            "--clear-groups",
            *args,
        ]
    run = subprocess.run(args, capture_output=True, text=True)
    if check and run.returncode:
        raise RuntimeError(f"{args[-4:]} failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    return run


def start_cluster(bindir: Path) -> Cluster:
    """initdb (trust, loopback only), pg_cron and pg_partman's worker preloaded; started."""
    directory = Path(tempfile.mkdtemp(prefix="panda-pg-"))
    owner = _owner()
    if owner is not None:
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    data = directory / "data"
    _as_owner(
        [
            str(bindir / "initdb"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
            str(data),
        ]
    )
    port = free_port()
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": f"'{directory}'",
        "shared_preload_libraries": "'pg_cron, pg_partman_bgw'",
        "cron.database_name": "'postgres'",
        "pg_partman_bgw.dbname": "'panda_db'",
        "max_connections": "100",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    with open(data / "postgresql.conf", "a") as conf:
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
    log = directory / "postgres.log"
    _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"])
    return Cluster(directory, port, bindir, log)


def load_schema(cluster: Cluster, sqls: Path) -> None:
    """Create the database, its user and PanDA's objects, as ``panda_db_init.sh`` does."""
    work = cluster.directory / "sql"
    work.mkdir()
    init = (sqls / "init_step.sql").read_text().replace("${PANDA_DB_PASSWORD}", DB_PASSWORD)
    (work / "init_step.sql").write_text(init)
    cluster.psql(file=work / "init_step.sql", database="postgres")
    worker_node_queue = _statement(
        (sqls / "patches/0.0.31.patch.sql").read_text(),
        "CREATE TABLE IF NOT EXISTS doma_panda.worker_node_queue",
    )
    for component in SCHEMA_COMPONENTS:
        for part in ("", *(f"_{p}" for p in SCHEMA_PARTS)):
            source = sqls / f"pg_{component}{part}.sql"
            if not source.exists():
                continue
            text = source.read_text()
            if component == "PARTITION":
                text = text.replace("p_type => 'range'", "p_type => 'native'")
            if part == "_SCHEDULER_JOBS":
                text = (
                    worker_node_queue + "\nALTER TABLE doma_panda.worker_node_queue OWNER TO "
                    "panda;\n" + text
                )
            target = work / source.name
            target.write_text(text)
            # as the upstream script: only the table files stop on their first error
            cluster.psql(file=target, stop_on_error=False)
    major, minor, patch = (sqls.parent / "version").read_text().strip().split(".")
    cluster.psql(
        "INSERT INTO doma_panda.pandadb_version (component, major, minor, patch) "
        f"VALUES ('PanDA', {major}, {minor}, {patch})"
    )
    cluster.psql(file=sqls / "post_step_panda.sql")
    cron = (sqls / "post_step_cron.sql").read_text().replace("nodename=''", "nodename='127.0.0.1'")
    cron = re.sub(r"nodename\s*=\s*''", "nodename = '127.0.0.1'", cron)
    (work / "post_step_cron.sql").write_text(cron)
    cluster.psql(file=work / "post_step_cron.sql", database="postgres")
    cluster.psql(f"UPDATE cron.job SET nodeport = {cluster.port}", database="postgres")


def _statement(text: str, start: str) -> str:
    """The SQL statement of ``text`` that begins with ``start``."""
    begin = text.index(start)
    return text[begin : text.index(";", begin) + 1]
