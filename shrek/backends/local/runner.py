"""The local backend's runner: one process per submission, running its jobs on this machine.

Started detached (its own session) by :mod:`shrek.backends.local`, so it outlives the command
that started it; ``shrek status`` reads the state it writes. Each job runs in its own working
directory holding exactly the sandbox (the manifest's files) plus its input files, with stdout
and stderr kept per attempt; failed jobs are attempted again up to ``max_attempts``; declared
outputs go into the local dataset store and the local catalogue as each job succeeds, so a
downstream step reads them exactly as it would read a grid dataset.

Usage: ``python -m shrek.backends.local.runner RUN_DIR [--retry STEP]``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from shrek.backends.local.rundir import PLAN, READY_FD, STATE, read_json, write_json
from shrek.catalogs import DatasetFile
from shrek.catalogs.local import LocalCatalog
from shrek.core.hashing import adler32_file
from shrek.core.launch import start_job
from shrek.core.model import matches
from shrek.core.naming import PROVENANCE_FILE
from shrek.errors import ShrekError
from shrek.interrupts import fault_point

PROVENANCE_DIR = ".provenance"  # in the store: every collected job's provenance file


def place(source: Path, target: Path) -> None:
    """Move a job's output into the store, never over a file that is there: the same content
    (a job collected again after an interruption) is kept as it is; other content is refused,
    since a catalogued file must never change under its name."""
    try:
        os.link(source, target)  # fails if the target exists: no window for a race
    except FileExistsError:
        if not _same_content(source, target):
            raise FileExistsError(
                f"{target} is in the store with other content (outputs are never overwritten)"
            ) from None
    except OSError:  # no hard links here (another file system): check, then move
        if target.exists() or target.is_symlink():
            if not _same_content(source, target):
                raise FileExistsError(
                    f"{target} is in the store with other content (outputs are never overwritten)"
                ) from None
        else:
            shutil.move(source, target)
            return
    source.unlink()


def _same_content(one: Path, other: Path) -> bool:
    return one.stat().st_size == other.stat().st_size and adler32_file(one) == adler32_file(other)


def wait_with_usage(process: subprocess.Popen) -> tuple[int, float]:
    """Wait for the job; its exit status (negative: the signal) and the CPU seconds it and
    every descendant it waited for used (``wait4``'s resource usage)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


class PeakMemory:
    """The peak resident memory of a job's whole process tree (its session: the runner starts
    each job in its own), sampled from /proc every 20 ms on a thread of its own, in kB."""

    INTERVAL_S = 0.02

    def __init__(self, session: int) -> None:
        self.session = session
        self.peak_kb = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def stop(self) -> int:
        self.done.set()
        self.thread.join()
        return self.peak_kb

    def _sample(self) -> None:
        while not self.done.is_set():
            self.peak_kb = max(self.peak_kb, session_rss_kb(self.session))
            self.done.wait(self.INTERVAL_S)


def session_rss_kb(session: int) -> int:
    """The resident memory of every process of ``session``, summed, in kB."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) != session:  # field 6 of stat: the session id
                continue
            with open(f"/proc/{entry}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
        except (OSError, IndexError, ValueError):
            continue
    return total


def step_outcome(jobs: list[dict[str, Any]], stopped: bool) -> str:
    states = [j["state"] for j in jobs]
    if stopped and any(s in ("pending", "running", "killed") for s in states):
        return "killed"
    if all(s == "done" for s in states):
        return "done"
    if any(s == "done" for s in states):
        return "partial"
    return "failed"


def _end_group(process: subprocess.Popen) -> None:
    """SIGTERM to a job's whole process group (the wrapper and what it started)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)


class Runner:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.plan = read_json(run_dir / PLAN)
        self.catalog = LocalCatalog(Path(self.plan["catalog"]))
        self.store = Path(self.plan["store"])
        self.sandbox = Path(self.plan["sandbox"])
        self.files = list(self.plan["sandbox_files"])
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.processes: set[subprocess.Popen] = set()
        self.dirty = threading.Event()
        state_path = run_dir / STATE
        self.state = (
            read_json(state_path)
            if state_path.exists()
            else {
                "run": self.plan["run"],
                "steps": {s["step"]: {"state": "pending", "jobs": []} for s in self.plan["steps"]},
            }
        )

    def claim(self) -> None:
        """This process is the run's runner from now on (``pid`` is how others find it)."""
        self.state.update(
            pid=os.getpid(),
            state="running",
            finished=None,
            started=self.state.get("started") or time.time(),
        )

    # -- state ----------------------------------------------------------------------------

    def save(self) -> None:
        with self.lock:
            write_json(self.run_dir / STATE, self.state)

    def _writer(self) -> None:
        while not self.stop.is_set() or self.dirty.is_set():
            if self.dirty.wait(0.2):
                self.dirty.clear()
                self.save()
            if self.state.get("finished"):
                return

    def changed(self) -> None:
        self.dirty.set()

    def update(self, job: dict[str, Any], **changes: Any) -> None:
        """Change a job under the lock, so the state writer never sees it half-changed."""
        with self.lock:
            job.update(changes)
        self.dirty.set()

    def terminate(self, *_: object) -> None:
        """SIGTERM/SIGINT: stop starting jobs and end the running ones (their whole groups).

        It takes no lock: a signal handler runs between two bytecodes of the main thread,
        which may be inside ``with self.lock`` (saving the state, or handling a first signal
        when a second one comes), and waiting there for that lock waits forever (a runner
        hung after ``shrek kill``). ``list()`` copies the set in one step; a job started after
        the copy sees ``stop`` once it is listed (:meth:`_started`)."""
        self.stop.set()
        for process in list(self.processes):
            _end_group(process)

    def _started(self, process: subprocess.Popen) -> None:
        """List a job's process for :meth:`terminate`; one started after a stop was asked (the
        stop checked before it began, its signal handled before it was listed) ends now."""
        with self.lock:
            self.processes.add(process)
        if self.stop.is_set():
            _end_group(process)

    # -- jobs -----------------------------------------------------------------------------

    def split(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """The jobs of a step, numbered and fed exactly as PanDA would."""
        first = int(spec["first_sequence"])
        inputs = spec["inputs"]
        primary = [i for i in inputs if not i["secondary"]]
        limit = spec.get("max_jobs") or None  # shrek probe runs the first N jobs only
        if not primary:
            return [
                {"index": n, "seq": first + n - 1, "inputs": [], "state": "pending", "attempts": []}
                for n in range(1, int(spec["jobs"]) + 1)
            ][:limit]
        listings = {
            i["dataset"]: [
                f
                for f in (
                    [DatasetFile(n, 0, "", loc) for n, loc in i["files"]]
                    if "files" in i
                    else self.catalog.files(i["dataset"])
                )
                if matches(i.get("match"), f.name)
            ]
            for i in inputs
        }
        main = listings[primary[0]["dataset"]][: primary[0].get("max_files") or None]
        per_job = int(primary[0]["files_per_job"])
        chunks = [main[k : k + per_job] for k in range(0, len(main), per_job)]
        jobs = []
        for n, chunk in enumerate(chunks, start=1):
            streams = self._streams(inputs, listings, n, chunk)
            if streams is None:
                break  # a secondary stream read once is used up: PanDA makes no more jobs
            jobs.append(
                {
                    "index": n,
                    "seq": first + n - 1,
                    "inputs": streams,
                    "state": "pending",
                    "attempts": [],
                }
            )
        return jobs[:limit]

    @staticmethod
    def _streams(
        inputs: list[dict[str, Any]],
        listings: dict[str, list[DatasetFile]],
        n: int,
        chunk: list[DatasetFile],
    ) -> list[list[list[str]]] | None:
        """Job ``n``'s files of every input: its chunk of the primary, and ``files_per_job``
        of each secondary stream in order (a reusable one starts again from its first file;
        None when one read once has too few left)."""
        streams = []
        for item in inputs:
            if not item["secondary"]:
                streams.append([[f.name, f.location] for f in chunk])
                continue
            files = listings[item["dataset"]]
            count = int(item["files_per_job"])
            start = (n - 1) * count
            if not item.get("reusable", True):
                if start + count > len(files):
                    return None
                streams.append([[f.name, f.location] for f in files[start : start + count]])
            elif files:
                picked = [files[(start + k) % len(files)] for k in range(count)]
                streams.append([[f.name, f.location] for f in picked])
            else:
                streams.append([])
        return streams

    # Complex by design: one job's whole life: start, measure, retry, collect.
    def run_job(self, spec: dict[str, Any], job: dict[str, Any]) -> None:  # noqa: C901
        """Run one job, attempt after attempt, and collect its outputs.

        Kept in one piece (about 65 lines) on purpose: each attempt's start, the process, its
        end and the output collection share the job's state under the runner's lock, and the
        order of those updates is what makes a killed or crashed run recoverable.
        """
        tries = int(spec["max_attempts"])
        for _ in range(tries):
            if self.stop.is_set():
                self.update(job, state="killed")
                return
            attempt = len(job["attempts"]) + 1
            workdir = (
                self.run_dir
                / "jobs"
                / spec["step"]
                / f"{job['index']:06d}"
                / (f"attempt-{attempt}")
            )
            if workdir.exists():
                shutil.rmtree(workdir)
            workdir.mkdir(parents=True)
            for name in self.files:
                target = workdir / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.sandbox / name, target)
            arguments = []
            for stream in job["inputs"]:
                for name, location in stream:
                    link = workdir / name
                    if not link.exists():
                        os.symlink(location, link)
                arguments.append(",".join(name for name, _ in stream))
            self.update(job, state="running")
            environment = {
                **os.environ,
                "SHREK_JOB": f"{self.plan['run']}/{spec['step']}/{job['index']}",
            }
            process = start_job(workdir, spec["wrapper"], job["seq"], arguments, environment)
            self._started(process)
            started = time.monotonic()
            sampler = PeakMemory(process.pid) if self.plan.get("measure") else None
            status, cpu = wait_with_usage(process)
            wall = time.monotonic() - started
            with self.lock:
                self.processes.discard(process)
            relative = workdir.relative_to(self.run_dir).as_posix()
            record: dict[str, Any] = {
                "attempt": attempt,
                "exit": status,
                "dir": relative,
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
            }
            if sampler is not None:
                record["peak_rss_mb"] = round(sampler.stop() / 1024, 1)
            if status == 0:
                try:
                    outputs = self.collect(spec, job, workdir)
                except (OSError, KeyError, ShrekError) as exc:
                    record["error"] = f"collecting outputs failed: {exc}"
                else:
                    self.update(
                        job, state="done", outputs=outputs, attempts=[*job["attempts"], record]
                    )
                    return
            self.update(job, attempts=[*job["attempts"], record])
            if self.stop.is_set():
                self.update(job, state="killed")
                return
        self.update(job, state="failed")

    def collect_finished(self, spec: dict[str, Any], job: dict[str, Any]) -> bool:
        """After the runner died: collect the attempt that was running if its wrapper got to
        its end (its last stderr line is the wrapper's 'done'); True when the job is done."""
        attempt = len(job["attempts"]) + 1
        workdir = (
            self.run_dir / "jobs" / spec["step"] / f"{job['index']:06d}" / f"attempt-{attempt}"
        )
        if not workdir.exists():
            return False  # it had not started
        record: dict[str, Any] = {
            "attempt": attempt,
            "exit": None,
            "dir": workdir.relative_to(self.run_dir).as_posix(),
        }
        try:
            last = (workdir / "stderr.log").read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
            if last == f"shrek[{spec['step']}]: done".encode():
                outputs = self.collect(spec, job, workdir)
                record.update(exit=0, note="collected after the local runner died")
                job.update(state="done", outputs=outputs, attempts=[*job["attempts"], record])
                return True
            record["error"] = "the local runner died while the job ran"
        except (OSError, KeyError, ShrekError) as exc:
            record["error"] = f"the local runner died; collecting the outputs failed: {exc}"
        job["attempts"] = [*job["attempts"], record]
        return False

    def collect(self, spec: dict[str, Any], job: dict[str, Any], workdir: Path) -> list[str]:
        """Move the job's declared outputs into the store and register them, each with the
        job's provenance file (kept in the store beside the datasets, never one of their
        files)."""
        listed = (workdir / "shrek-outputs.txt").read_text(encoding="utf-8").split("\n")
        produced = {line.split(" ")[0]: line.split(" ")[1] for line in listed if line.strip()}
        provenance = self.keep_provenance(spec, job, workdir)
        names = []
        for output in spec["outputs"]:
            source = workdir / produced[output["name"]]
            stem = output["file"][: len(output["file"]) - len(output["ext"])]
            name = f"{stem}._{job['seq']:06d}{output['ext']}"
            directory = self.store / output["dataset"]
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / name
            place(source, target)
            item = DatasetFile(
                name, target.stat().st_size, f"adler32:{adler32_file(target)}", str(target)
            )
            with self.lock:
                self.catalog.register(output["dataset"], [item], provenance)
            names.append(name)
        return names

    def keep_provenance(self, spec: dict[str, Any], job: dict[str, Any], workdir: Path) -> str:
        """Place the job's provenance file in the store: ``.provenance/<submission>/<seq>.json``
        (sequence numbers are unique within a submission); "" when the job wrote none."""
        source = workdir / PROVENANCE_FILE
        if not source.is_file() or not spec.get("submission"):
            return ""
        directory = self.store / PROVENANCE_DIR / spec["submission"]
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{job['seq']:06d}.json"
        place(source, target)
        return str(target)

    # -- steps ------------------------------------------------------------------------------

    def run_step(self, spec: dict[str, Any], retry: bool = False) -> None:
        step_state = self.state["steps"][spec["step"]]
        if retry and not step_state["jobs"]:  # the runner died before it split this step
            retry = False
        if retry:
            jobs = [j for j in step_state["jobs"] if j["state"] in ("failed", "killed")]
            for job in jobs:
                job["state"] = "pending"
        else:
            blocked = [
                u for u in spec.get("upstream", []) if self.state["steps"][u]["state"] != "done"
            ]
            if blocked:
                step_state["state"] = "cancelled"
                step_state["note"] = f"upstream {', '.join(blocked)} did not complete"
                self.changed()
                return
            try:
                step_state["jobs"] = self.split(spec)
            except Exception as exc:
                step_state["state"] = "failed"
                step_state["note"] = f"could not prepare the jobs: {exc}"
                self.changed()
                return
            jobs = step_state["jobs"]
            if len(jobs) > int(spec["reserved"]):
                step_state["state"] = "failed"
                step_state["note"] = (
                    f"{len(jobs)} jobs exceed the {spec['reserved']} sequence numbers reserved"
                )
                self.changed()
                return
        step_state["state"] = "running"
        self.changed()
        with ThreadPoolExecutor(max_workers=int(self.plan["workers"])) as pool:
            list(pool.map(lambda job: self.run_job(spec, job), jobs))
        step_state["state"] = step_outcome(step_state["jobs"], self.stop.is_set())
        self.changed()

    def run(self, retry_step: str | None = None, ready: int | None = None) -> None:
        """Run the plan's steps (or retry one). ``ready``: a pipe to say, once the first state
        is written, that this runner is running (``shrek submit`` waits for it)."""
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # shrek may have blocked it
        signal.signal(signal.SIGTERM, self.terminate)
        signal.signal(signal.SIGINT, self.terminate)
        fault_point("runner-start")  # the tests' runner that dies before it runs
        self.claim()
        self.save()
        if ready is not None:
            with contextlib.suppress(OSError):  # the submitter may be gone (Ctrl-C)
                os.write(ready, b"running")
            os.close(ready)
        writer = threading.Thread(target=self._writer, daemon=True)
        writer.start()
        try:
            for spec in self.plan["steps"]:
                if retry_step is not None:
                    if spec["step"] == retry_step:
                        self.run_step(spec, retry=True)
                    continue
                if self.stop.is_set():
                    self.state["steps"][spec["step"]]["state"] = "killed"
                    continue
                self.run_step(spec)
        finally:
            states = [s["state"] for s in self.state["steps"].values()]
            self.state["state"] = (
                "killed"
                if self.stop.is_set()
                else ("done" if all(s == "done" for s in states) else "partial")
            )
            self.state["finished"] = time.time()
            self.stop.set()
            self.save()


# -- a runner that died ----------------------------------------------------------------------


def recover(run_dir: Path) -> str:
    """Settle the run of a runner that died (``kill -9``, a reboot): kill what is left of its
    jobs' process groups, collect the outputs of jobs that finished, mark every other
    unfinished job ``failed`` (so ``retry`` runs them again) and close the state. Returns what
    was done, for the record's history. Safe to repeat: a closed state is left alone."""
    runner = Runner(run_dir)
    state = runner.state
    if state.get("finished"):
        return ""
    killed = kill_jobs(str(state["run"]))
    collected = failed = 0
    specs = {spec["step"]: spec for spec in runner.plan["steps"]}
    for step, step_state in state["steps"].items():
        if step_state["state"] not in ("pending", "running"):
            continue
        for job in step_state["jobs"]:
            if job["state"] == "running" and runner.collect_finished(specs[step], job):
                collected += 1
            elif job["state"] in ("running", "pending"):
                job["state"] = "failed"
                failed += 1
        step_state["state"] = (
            step_outcome(step_state["jobs"], False) if step_state["jobs"] else ("failed")
        )
        step_state["note"] = "the local runner died; settled by shrek"
    states = [s["state"] for s in state["steps"].values()]
    state["state"] = "done" if all(s == "done" for s in states) else "partial"
    state["finished"] = time.time()
    note = (
        f"the local runner (pid {state.get('pid')}) died: {killed} leftover process(es) "
        f"killed, {collected} finished job(s) collected, {failed} unfinished job(s) marked failed"
    )
    state["note"] = note
    runner.save()
    return note


def kill_jobs(run: str) -> int:
    """Kill the process groups of every process that belongs to a job of ``run`` (the runner
    gives each job ``SHREK_JOB=<run>/<step>/<n>`` and its own session); the number killed."""
    marker = f"SHREK_JOB={run}/".encode()
    own = os.getpgrp()
    groups = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            if any(v.startswith(marker) for v in environ.split(b"\0")):
                groups.add(os.getpgid(int(entry.name)))
        except (OSError, ProcessLookupError):
            continue
    for group in groups - {own}:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    return len(groups - {own})


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0])
    retry = argv[2] if len(argv) > 2 and argv[1] == "--retry" else None
    ready = os.environ.pop(READY_FD, None)  # never inherited by the jobs
    Runner(run_dir).run(retry, ready=int(ready) if ready else None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
