"""A test pilot: fetches jobs through PanDA's real pilot API and runs them as ``runGen`` would.

It stands in for the PanDA pilot and its job transformation, nothing else: it asks
``/api/v1/pilot/acquire_jobs`` for a job of the test queue, reads the job's real parameters
(``jobPars``: the sandbox to fetch, the command with ``%RNDM`` already replaced by the server, the
map of output files to their grid names), downloads the sandbox from the server's cache, runs the
command there with bash (the wrapper SHREK rendered), renames the outputs as runGen does, keeps
them in a directory standing for the site's storage, and reports the job through
``/api/v1/pilot/update_job`` with an output report the server's adder reads.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shlex
import shutil
import subprocess
import tarfile
import urllib.parse
import urllib.request
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .database import QUEUE


@dataclass
class Ran:
    """One job the pilot ran."""

    panda_id: int
    task_id: int
    command: str
    exit_code: int
    outputs: dict[str, Path] = field(default_factory=dict)  # grid name -> stored file
    stdout: str = ""


def _post(url: str, data: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _adler32(path: Path) -> str:
    value = 1
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            value = zlib.adler32(block, value)
    return f"{value & 0xFFFFFFFF:08x}"


def job_arguments(job_pars: str) -> dict[str, str]:
    """runGen's options from a job's ``jobPars``."""
    words = shlex.split(job_pars)
    options: dict[str, str] = {}
    for index, word in enumerate(words):
        if word.startswith("-") and index + 1 < len(words):
            options[word] = words[index + 1]
    return options


class Pilot:
    def __init__(self, url: str, work: Path, storage: Path, queue: str = QUEUE) -> None:
        self.url = url
        self.work = work
        self.storage = storage
        self.queue = queue
        storage.mkdir(parents=True, exist_ok=True)

    def acquire(self, n_jobs: int = 10) -> list[dict[str, Any]]:
        reply = _post(
            f"{self.url}/api/v1/pilot/acquire_jobs",
            {
                "site_name": self.queue,
                "prod_source_label": "user",
                "job_type": "user",
                "node": "test-node",
                "n_jobs": n_jobs,
            },
        )
        if not reply.get("success"):
            return []
        return list((reply.get("data") or {}).get("jobs") or [])

    def update(self, job: dict[str, Any], status: str, **extra: Any) -> dict[str, Any]:
        return _post(
            f"{self.url}/api/v1/pilot/update_job",
            {
                "job_id": job["PandaID"],
                "job_status": status,
                "site_name": self.queue,
                "node": "test-node",
                "attempt_nr": job.get("attemptNr"),
                **extra,
            },
        )

    def run(self, job: dict[str, Any], *, lose_node: bool = False) -> Ran:
        """Run one acquired job to its end and report it; ``lose_node``: the worker node is
        lost before the payload starts, and the pilot reports the job failed."""
        options = job_arguments(job["jobPars"])
        command = urllib.parse.unquote(options["-p"])
        directory = self.work / str(job["PandaID"])
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        self.update(job, "starting")
        archive = directory / options["-a"]
        with urllib.request.urlopen(f"{options['--sourceURL']}/cache/{options['-a']}") as got:
            archive.write_bytes(got.read())
        with tarfile.open(archive) as tar:
            tar.extractall(directory, filter="data")
        archive.unlink()
        self.update(job, "running")
        if lose_node:
            run = subprocess.CompletedProcess(command, 137, "", "(test pilot) worker node lost")
        else:
            run = subprocess.run(
                ["bash", "-c", command], cwd=directory, capture_output=True, text=True, timeout=600
            )
        ran = Ran(
            job["PandaID"],
            int(job["taskID"]),
            command,
            run.returncode,
            stdout=run.stdout + run.stderr,
        )
        report: dict[str, dict[str, Any]] = {}
        renames = ast.literal_eval(options.get("-o", "{}"))
        if run.returncode == 0:
            for local, grid_name in renames.items():
                made = directory / local
                if not made.exists():
                    ran.exit_code = 1
                    ran.stdout += f"\n(test pilot) output {local} was not made"
                    break
                stored = self.storage / grid_name
                shutil.copyfile(made, stored)
                ran.outputs[grid_name] = stored
                report[grid_name] = self._file_report(stored)
        log = self.storage / job["logFile"]
        (directory / "payload.stdout").write_text(ran.stdout)
        with tarfile.open(log, "w:gz") as tar:
            tar.add(directory / "payload.stdout", arcname="payload.stdout")
        report[job["logFile"]] = {**self._file_report(log), "guid": job["logGUID"]}
        if ran.exit_code == 0:
            self.update(job, "finished", job_output_report=json.dumps(report), trans_exit_code=0)
        else:
            self.update(
                job,
                "failed",
                trans_exit_code=ran.exit_code,
                exe_error_code=ran.exit_code,
                exe_error_diag=ran.stdout.strip()[-200:] or "payload failed",
                job_output_report=json.dumps({job["logFile"]: report[job["logFile"]]}),
            )
        return ran

    @staticmethod
    def _file_report(path: Path) -> dict[str, Any]:
        return {
            "guid": str(uuid.uuid4()),
            "fsize": path.stat().st_size,
            "adler32": _adler32(path),
            "md5sum": hashlib.md5(path.read_bytes()).hexdigest(),
            "surl": f"file://{path}",
        }

    def run_all(self, *, lose_nodes: bool = False) -> list[Ran]:
        """Every job the queue hands out now."""
        ran = []
        while jobs := self.acquire():
            ran += [self.run(job, lose_node=lose_nodes) for job in jobs]
        return ran
