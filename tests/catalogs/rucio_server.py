"""A real Rucio server (the ``rucio`` package, 41.x) for the tests, on 127.0.0.1.

It runs from its own virtual environment (``make install-rucio-server`` makes ``.venv-rucio``):
SQLite database bootstrapped with Rucio's own tools, a root account with userpass
authentication, served by gunicorn with one worker thread (SQLite locks under concurrent
writers). ``prepare()`` then adds, with the Rucio client, a scope and a POSIX RSE on a temporary
directory with a quota for root. Start to ready takes a few seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.conftest import PROJECT
from tests.ports import free_port

SERVER_VENV = Path(os.environ.get("SHREK_RUCIO_SERVER_VENV", PROJECT / ".venv-rucio"))
USER, PASSWORD = "ddmlab", "secret"
ENDPOINTS = (
    "accounts, auth, config, credentials, dids, export, heartbeats, identities, import, "
    "lifetime_exceptions, locks, meta_conventions, ping, redirect, replicas, requests, "
    "rses, rules, scopes, subscriptions"
)


def available() -> str:
    """'' when the server can start here, else why not."""
    python = SERVER_VENV / "bin" / "python"
    if not python.exists():
        return f"no Rucio server installation at {SERVER_VENV} (run: make install-rucio-server)"
    if not (SERVER_VENV / "bin" / "gunicorn").exists():
        return f"gunicorn is missing from {SERVER_VENV} (run: make install-rucio-server)"
    return ""


class RucioServer:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.server_cfg = directory / "server.cfg"
        self.client_cfg = directory / "client.cfg"
        self.rse_dir = directory / "rse"

    def _configure(self) -> None:
        for sub in ("log", "trace", "rse"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        template = (SERVER_VENV / "rucio" / "etc" / "alembic.ini.template").read_text()
        migrations = next(
            (SERVER_VENV / "lib").glob("python3*/site-packages/rucio/db/sqla/migrate_repo")
        )
        alembic = []
        for line in template.splitlines():
            if line.startswith("version_table_schema"):
                continue  # SQLite has no schemas
            if line.startswith("script_location"):
                line = f"script_location = {migrations}"
            if line.startswith("sqlalchemy.url"):
                line = f"sqlalchemy.url = sqlite:///{self.dir}/rucio.db"
            alembic.append(line)
        (self.dir / "alembic.ini").write_text("\n".join(alembic) + "\n")
        self.server_cfg.write_text(f"""\
[common]
logdir = {self.dir}/log
loglevel = WARNING
[database]
default = sqlite:///{self.dir}/rucio.db
[alembic]
cfg = {self.dir}/alembic.ini
[bootstrap]
userpass_identity = {USER}
userpass_pwd = {PASSWORD}
userpass_email = {USER}@example.org
[trace]
tracedir = {self.dir}/trace
[policy]
permission = generic
schema = generic
lfn2pfn_algorithm_default = hash
[api]
endpoints = {ENDPOINTS}
""")
        ca = self.dir / "ca.pem"
        ca.write_text("# not used: plain HTTP on 127.0.0.1\n")
        self.client_cfg.write_text(f"""\
[client]
rucio_host = {self.url}
auth_host = {self.url}
auth_type = userpass
username = {USER}
password = {PASSWORD}
account = root
ca_cert = {ca}
request_retries = 1
""")

    def start(self, timeout: float = 60) -> RucioServer:
        self._configure()
        env = {**os.environ, "RUCIO_CONFIG": str(self.server_cfg)}
        env.pop("PYTHONPATH", None)
        python = str(SERVER_VENV / "bin" / "python")
        subprocess.run(
            [
                python,
                "-c",
                "from rucio.db.sqla.util import build_database, "
                "create_base_vo, create_root_account; build_database(); "
                "create_base_vo(); create_root_account()",
            ],
            env=env,
            check=True,
            capture_output=True,
            cwd=self.dir,
            timeout=120,
        )
        log = open(self.dir / "gunicorn.log", "wb")  # noqa: SIM115 - kept open for the server
        self.process = subprocess.Popen(
            [
                str(SERVER_VENV / "bin" / "gunicorn"),
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                "1",
                "--threads",
                "1",
                "--control-socket",
                str(self.dir / "gunicorn.ctl"),
                "rucio.web.rest.flaskapi.v1.main:application",
            ],
            env=env,
            stdout=log,
            stderr=log,
            cwd=self.dir,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "the Rucio server stopped at once:\n"
                    + (self.dir / "gunicorn.log").read_text()[-3000:]
                )
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the Rucio server did not answer /ping in time")

    def client_environment(self) -> dict[str, str]:
        return {"RUCIO_CONFIG": str(self.client_cfg)}

    def prepare(self, scope: str, rse: str) -> None:
        """A scope, a POSIX RSE on a temporary directory, and root's quota on it."""
        os.environ.update(self.client_environment())
        from rucio.client import Client

        client = Client()
        client.add_scope("root", scope)
        client.add_rse(rse, deterministic=True, rse_type="DISK")
        client.add_protocol(
            rse,
            {
                "scheme": "file",
                "hostname": "localhost",
                "port": 0,
                "prefix": str(self.rse_dir),
                "impl": "rucio.rse.protocols.posix.Default",
                "domains": {
                    "lan": {"read": 1, "write": 1, "delete": 1},
                    "wan": {"read": 1, "write": 1, "delete": 1},
                },
            },
        )
        client.set_local_account_limit("root", rse, 10**12)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir / "trace", ignore_errors=True)
