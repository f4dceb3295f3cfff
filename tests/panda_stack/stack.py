"""Start and stop a real panda-server (gunicorn) and JEDI on 127.0.0.1 against a private cluster.

Configuration starts from the templates panda-server installs (``etc/panda/*.rpmnew`` in its
environment) and changes only what a loopback test needs: the database, directories, no token
check (the wrapper in :mod:`tests.panda_stack.wsgi` supplies the identity), the dummy
adder/setupper plugins, JEDI for one VO with real labels, and a test-only DDM module
(:mod:`tests.panda_stack.ddm`) so that tasks can reach ``done``.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import database
from .database import QUEUE, SITE, VO, Cluster

ROOT = Path(__file__).resolve().parents[2]
PANDA_VENV = Path(os.environ.get("PANDA_STACK_VENV", ROOT / ".venv-panda"))
HERE = Path(__file__).resolve().parent
NICKNAME = "jdoe"
USER_NAME = "Jane Doe"  # the CN of the test identity: PanDA stores this as userName
LABEL = "user"  # prun's prodSourceLabel
DATASERVICE = "pandaserver.dataservice"  # the dummy adder/setupper: no DDM behind the server


def site_packages(venv: Path = PANDA_VENV) -> Path | None:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    return found[0] if found else None


def unavailable() -> str | None:
    """Why the real stack cannot run here, in one line; None when it can."""
    if not (PANDA_VENV / ".installed").exists():
        return "the PanDA stack is not installed (make install-panda-stack)"
    if database.pg_bindir() is None:
        return "PostgreSQL 15 is not installed (make install-panda-stack, as root)"
    missing = database.extensions_missing()
    if missing:
        return f"{', '.join(missing)} not installed (make install-panda-stack, as root)"
    if database.schema_dir() is None:
        return "PanDA's database schema is not found (set PANDA_DATABASE_DIR)"
    return None


def _edit(template: Path, target: Path, changes: dict[str, dict[str, str]]) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(template)
    for section, values in changes.items():
        if not parser.has_section(section):
            parser.add_section(section)
        for key, value in values.items():
            parser.set(section, key, value)
    with open(target, "w") as out:
        parser.write(out)


@dataclass
class Stack:
    """A running PanDA: its URLs, directories and processes."""

    home: Path
    cluster: Cluster
    port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.home / "log"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def client_environment(self, token: str) -> dict[str, str]:
        """What panda-client (and so SHREK) needs to talk to this server."""
        base = f"{self.url}/server/panda"
        return {
            "PANDA_URL": base,
            "PANDA_URL_SSL": base,
            "PANDACACHE_URL": base,
            "PANDA_API_URL": f"{self.url}/api/v1",
            "PANDA_API_URL_SSL": f"{self.url}/api/v1",
            "PANDA_AUTH": "oidc",
            "PANDA_AUTH_VO": VO,
            "PANDA_AUTH_ID_TOKEN": token,
            "PANDA_BEHIND_REAL_LB": "1",
        }

    def environment(self) -> dict[str, str]:
        """The server's, JEDI's and the adder's environment."""
        packages = site_packages()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PANDA", "PYTHON", "VIRTUAL_ENV", "X509"))
        }
        env.update(
            PANDA_HOME=str(self.home),
            PANDA_BEHIND_REAL_LB="1",
            PANDA_URL=f"{self.url}/server/panda",
            PANDA_URL_SSL=f"{self.url}/server/panda",
            PANDACACHE_URL=f"{self.url}/server/panda",
            PANDA_API_URL=f"{self.url}/api/v1",
            PANDA_API_URL_SSL=f"{self.url}/api/v1",
            PANDA_TEST_CACHE_DIR=str(self.cache_dir),
            PATH=f"{PANDA_VENV / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
            PYTHONPATH=os.pathsep.join(
                [str(ROOT), str(packages / "pandacommon"), str(packages / "pandaserver")]
            ),
        )
        return env

    def configure(self) -> None:
        templates = PANDA_VENV / "etc/panda"
        etc = self.home / "etc/panda"
        etc.mkdir(parents=True)
        for directory in (self.log_dir, self.cache_dir / "jedilog", self.log_dir / "wsgisocks"):
            directory.mkdir(parents=True, exist_ok=True)
        packages = site_packages()
        db = {
            "dbhost": "127.0.0.1",
            "dbport": str(self.cluster.port),
            "dbuser": "panda",
            "dbpasswd": database.DB_PASSWORD,
            "dbname": "panda_db",
            "backend": "postgres",
        }
        _edit(
            templates / "panda_common.cfg.rpmnew",
            etc / "panda_common.cfg",
            {"logger": {"logdir": str(self.log_dir), "log_level": "DEBUG"}},
        )
        _edit(
            templates / "panda_server.cfg.rpmnew",
            etc / "panda_server.cfg",
            {
                "server": {
                    **db,
                    "logdir": str(self.log_dir),
                    "cache_dir": str(self.cache_dir),
                    "native_python": str(PANDA_VENV / "bin"),
                    "native_python32": str(PANDA_VENV / "bin"),
                    "pandaCommon_dir": str(packages / "pandacommon"),
                    "pandaPython_dir": str(packages / "pandaserver"),
                    "home_dir_cwd": str(self.home),
                    "nDBConnection": "2",
                    "token_authType": "None",
                    "production_dns": "/DC=test/CN=Test Service",
                    "pserverhost": "127.0.0.1",
                    "pserverhosthttp": "127.0.0.1",
                    "pserverport": str(self.port),
                    "pserverporthttp": str(self.port),
                    "pserverportcache": str(self.port),
                    "pserveralias": "127.0.0.1",
                    "sandboxHostname": "127.0.0.1",
                    "keyDir": str(self.home / "keys"),
                    "certdir": str(self.home / "keys"),
                    "auth_config": str(self.home / "auth"),
                    "adder_plugins": f"{VO}:{DATASERVICE}.adder_dummy_plugin:AdderDummyPlugin",
                    "setupper_plugins": f"{VO}:{DATASERVICE}.setupper_dummy_plugin:"
                    "SetupperDummyPlugin",
                    "closer_plugins": "",
                },
                "daemon": {"enable": "False"},
            },
        )
        _edit(
            templates / "panda_jedi.cfg.rpmnew",
            etc / "panda_jedi.cfg",
            {
                "master": {"uname": "", "gname": "", "loggername": "jedi"},
                # task-buffer worker processes the agents share (each with two database
                # connections: jedi.py says why)
                "db": {**db, "nWorkers": "4"},
                "ddm": {
                    "modConfig": f"{VO}:2:tests.panda_stack.ddm:TestDDMClient",
                    "voWithScope": VO,
                },
                "confeeder": {
                    "procConfig": f"{VO}:{LABEL}:1",
                    "loopCycle": "5",
                    "checkInterval": "2",
                },
                "taskrefine": {
                    "modConfig": f"{VO}:{LABEL}:pandajedi.jedirefine.GenTaskRefiner:GenTaskRefiner",
                    "procConfig": f"{VO}:{LABEL}:1",
                    "loopCycle": "5",
                },
                "jobbroker": {
                    "modConfig": f"{VO}:{LABEL}:pandajedi.jedibrokerage.GenJobBroker:GenJobBroker"
                },
                "jobthrottle": {
                    "modConfig": f"{VO}:{LABEL}:"
                    "pandajedi.jedithrottle.GenJobThrottler:GenJobThrottler"
                },
                "jobgen": {"procConfig": f"{VO}:{LABEL}:1:", "loopCycle": "5", "nWorkers": "1"},
                "postprocessor": {
                    "modConfig": f"{VO}:{LABEL}:"
                    "pandajedi.jedipprocess.GenPostProcessor:GenPostProcessor",
                    "procConfig": f"{VO}:{LABEL}:1",
                    "loopCycle": "5",
                    "nWorkers": "1",
                },
                "watchdog": {
                    "modConfig": f"{VO}:{LABEL}:pandajedi.jedidog.GenWatchDog:GenWatchDog",
                    "procConfig": f"{VO}:{LABEL}:1",
                    "loopCycle": "60",
                },
                "taskbroker": {
                    "modConfig": "",
                    "procConfig": f"{VO}:managed:1",
                    "loopCycle": "600",
                },
                "tcommando": {"procConfig": f"{VO}:{LABEL}:1", "loopCycle": "5", "nWorkers": "1"},
                "taskgen": {"modConfig": ""},
                "tasksetup": {
                    "modConfig": f"{VO}:{LABEL}:pandajedi.jedisetup.GenTaskSetupper:GenTaskSetupper"
                },
            },
        )

    def seed(self) -> None:
        """One VO, one site, one queue: the rows PanDA's own compose set-up seeds."""
        queue = {
            "siteid": QUEUE,
            "nickname": QUEUE,
            "panda_resource": QUEUE,
            "atlas_site": SITE,
            "vo_name": VO,
            "cloud": "WORLD",
            "status": "online",
            "state": "ACTIVE",
            "type": "unified",
            "resource_type": "SCORE",
            "capability": "ucore",
            "corecount": 1,
            "maxrss": 8000,
            "maxtime": 86400,
            "maxwdir": 100000,
            "pledgedcpu": -1,
            "jobseed": "std",
            "direct_access_lan": False,
            "direct_access_wan": False,
            "use_pcache": False,
            "is_cvmfs": False,
            # no pilot factory here: the broker must not wait for pilots before making jobs
            "catchall": "allow_no_pilot",
            "pilot_manager": "local",
            "harvester": "",
            "ddm": "LOCAL_DISK",
            "astorages": {"read_lan": ["LOCAL_DISK"], "write_lan": ["LOCAL_DISK"]},
            "ddmendpoints": {"LOCAL_DISK": {}},
            "wnconnectivity": "full",
            "maxinputsize": 100000,
            "minrss": 0,
            "maxmemory": 8000,
            "params": {"unified_dispatch": True},
        }
        sql = f"""
        INSERT INTO doma_panda.resource_types (resource_name, mincore, maxcore, minrampercore,
          maxrampercore) VALUES ('SCORE', 1, 1, NULL, NULL) ON CONFLICT DO NOTHING;
        UPDATE doma_panda.jedi_work_queue SET vo = '{VO}';
        INSERT INTO doma_panda.global_shares (name, value, parent, prodsourcelabel, vo,
          queue_id, throttled) VALUES ('{LABEL}', 100, NULL, '{LABEL}', '{VO}', 3, 'N');
        INSERT INTO doma_panda.site (site_name, role, tier_level, state)
          VALUES ('{SITE}', 'test', 1, 'ACTIVE');
        INSERT INTO doma_panda.panda_site (panda_site_name, site_name, default_ddm_endpoint,
          storage_site_name, is_local) VALUES ('{QUEUE}', '{SITE}', 'LOCAL_DISK', '{SITE}', 'Y');
        INSERT INTO doma_panda.ddm_endpoint (ddm_endpoint_name, site_name, ddm_spacetoken_name,
          space_total, space_free, type, blacklisted) VALUES ('LOCAL_DISK', '{SITE}',
          'LOCAL_DISK', 1000000, 1000000, 'DATADISK', 'N');
        INSERT INTO doma_panda.panda_ddm_relation (panda_site_name, ddm_endpoint_name,
          is_local, roles, default_read, default_write, order_read, order_write, scope)
          VALUES ('{QUEUE}', 'LOCAL_DISK', 'Y', 'read_lan,write_lan', 'Y', 'Y', 1, 1, 'default');
        INSERT INTO doma_panda.schedconfig_json (panda_queue, data, last_update)
          VALUES ('{QUEUE}', '{json.dumps(queue)}', now());
        GRANT ALL ON ALL TABLES IN SCHEMA doma_panda, doma_pandameta, doma_pandaarch,
          doma_deft TO panda;
        GRANT ALL ON ALL SEQUENCES IN SCHEMA doma_panda, doma_pandameta, doma_pandaarch,
          doma_deft TO panda;
        """
        self.cluster.psql(sql)

    # -- processes ------------------------------------------------------------------------

    def start_server(self, timeout: float = 180) -> None:
        with open(self.log_dir / "gunicorn.log", "ab") as log:
            self.processes["server"] = subprocess.Popen(
                [
                    str(PANDA_VENV / "bin/gunicorn"),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "1",
                    "--threads",
                    "8",
                    "--timeout",
                    "600",
                    "--no-control-socket",
                    "--chdir",
                    str(ROOT),
                    "tests.panda_stack.wsgi:application",
                ],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes["server"].poll() is not None:
                raise RuntimeError("panda-server exited:\n" + self.tail("gunicorn.log"))
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/system/is_alive", timeout=60) as r:
                    if b"'success': True" in r.read():
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("panda-server did not answer:\n" + self.tail("gunicorn.log"))

    def start_jedi(self) -> None:
        with open(self.log_dir / "jedi-master.log", "ab") as log:
            self.processes["jedi"] = subprocess.Popen(
                [str(PANDA_VENV / "bin/python"), str(HERE / "jedi.py")],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
            )

    def run_adder(self, timeout: float = 60) -> None:
        """The server's adder daemon, until no job is left ``holding`` (it finishes the jobs a
        pilot reported and archives them); in production a daemon runs it every few minutes.
        Its worker processes never end by themselves: the whole group is stopped."""
        with open(self.log_dir / "adder.out", "ab") as log:
            process = subprocess.Popen(
                [str(PANDA_VENV / "bin/python"), str(HERE / "adder.py"), str(timeout)],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + timeout
            time.sleep(2)
            while time.monotonic() < deadline and process.poll() is None:
                if not self.count(
                    "SELECT count(*) FROM doma_panda.jobsactive4 WHERE jobstatus = 'holding'"
                ):
                    time.sleep(1)  # let the last one be archived
                    break
                time.sleep(1)
        finally:
            _stop_group(process)

    def count(self, sql: str) -> int:
        return int(self.cluster.psql(sql).strip() or 0)

    def task(self, task_id: int) -> dict[str, str]:
        """A task's row as the server stored it."""
        out = self.cluster.psql(
            "SELECT row_to_json(t) FROM (SELECT jeditaskid, status, username, taskname, "
            f"errordialog FROM doma_panda.jedi_tasks WHERE jeditaskid = {int(task_id)}) t"
        ).strip()
        return json.loads(out) if out else {}

    def nudge_jedi(self) -> None:
        """What pg_cron does every minute (JEDI reads only tasks at or above each status's
        smallest id), and the passing of JEDI's 5-minute rescue delay and 10-minute lock timeout:
        done now, so a test waits seconds rather than minutes per state."""
        self.cluster.psql("CALL doma_panda.jedi_refr_mintaskids_bystatus()")
        # A kill that found jobs still active leaves the task 'aborting'; JEDI takes such a
        # task up again once it is 5 minutes old (getTasksToExecCommand_JEDI's "orphaned tasks
        # to rescue"). Its clock is moved on, so a test waits seconds rather than 5 minutes.
        self.cluster.psql(
            "UPDATE doma_panda.jedi_tasks SET modificationtime = modificationtime - "
            "interval '6 minutes' WHERE status = 'aborting' AND "
            "modificationtime > (now() at time zone 'utc') - interval '6 minutes'"
        )
        # A task killed while the job generator held its lock keeps that lock (the generator's
        # closing update no longer matches the task's status), and the post-processor takes up
        # a locked task only once the lock is 10 minutes old: that timeout is let pass too, for
        # a lock nobody has touched for 20 s on a task waiting to be finished.
        self.cluster.psql(
            "UPDATE doma_panda.jedi_tasks SET lockedtime = lockedtime - interval '11 minutes' "
            "WHERE status IN ('toabort', 'tobroken', 'prepared', 'passed', 'scouted') "
            "AND lockedby IS NOT NULL "
            "AND lockedtime < (now() at time zone 'utc') - interval '20 seconds' "
            "AND lockedtime > (now() at time zone 'utc') - interval '10 minutes'"
        )

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / name
        if not path.exists():
            return f"({name}: no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for process in self.processes.values():
            _stop_group(process)
        self.cluster.stop()


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started in its own session, and everything it started."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # children that outlived their parent
        os.killpg(process.pid, signal.SIGKILL)


def start(home: Path, *, jedi: bool = True) -> Stack:
    """The whole stack, ready for panda-client; stop() it whatever happens."""
    bindir = database.pg_bindir()
    sqls = database.schema_dir()
    assert bindir is not None and sqls is not None, unavailable()
    cluster = database.start_cluster(bindir)
    stack = Stack(home, cluster, database.free_port())
    try:
        database.load_schema(cluster, sqls)
        stack.configure()
        stack.seed()
        stack.start_server()
        if jedi:
            stack.start_jedi()
    except BaseException:
        stack.stop()
        raise
    return stack


if __name__ == "__main__":  # a stack to poke at by hand: python -m tests.panda_stack.stack DIR
    running = start(Path(sys.argv[1]))
    print(running.url, running.home, flush=True)
    try:
        signal.pause()
    finally:
        running.stop()
