"""The local backend (the embedded default): jobs run on this machine, in parallel.

A submission becomes a *run* under ``.shrek/runs/<run-id>/``: the rendered sandbox, a
``plan.json`` and the ``state.json`` its runner process keeps up to date. Outputs go into the
local dataset store ``.shrek/store/<dataset>/`` and the local catalogue, named by the tag
(``prod.<tag>.<step>.<output>.sNNNN``; test submissions in the ``test.`` namespace).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shrek import __version__, gitconfig
from shrek.backends import Accepted, StatusUpdate, Submission
from shrek.backends.local.publish import needs_publishing, publish
from shrek.backends.local.rundir import (
    PLAN,
    READY_FD,
    RUNNER_MODULE,
    STATE,
    read_json,
    runner_processes,
    write_json,
)
from shrek.catalogs.factory import local_catalog_path, open_catalog
from shrek.core.records import RENAMED_STATES, Record, submission_id
from shrek.core.registry import Registry
from shrek.core.render import SANDBOX, output_extension, output_file
from shrek.core.submission import FailureEntry, JobCounts, SubmissionData, no_jobs
from shrek.errors import ExitCode, ShrekError
from shrek.interrupts import fault_point

if TYPE_CHECKING:
    from shrek.core.failures import JobFailure

START_TIMEOUT_S = 30.0


class LocalBackend:
    name = "local"
    follows = True  # jobs finish in minutes: wait and show progress
    kills_at_once = True  # kill() returns when the runner has stopped every job

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._clone: str | None = None

    def version(self) -> str:
        return f"shrek-local {__version__}"

    def new_run_id(self) -> str:
        return f"local-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{os.urandom(3).hex()}"

    def journal_ids(self, submission: Submission) -> dict[str, Any]:
        # the run is named before it starts; the clone that runs it is the only one that can
        # follow it (its jobs, state and outputs are in that clone's .shrek/)
        return {"request": submission.run_id, "clone": self.clone_id()}

    def clone_id(self) -> str:
        """This clone's identity, made once and kept in its git configuration (``shrek.clone``
        in ``.git/config``: never committed, and it outlives the working state in ``.shrek/``):
        a registry shared by a team holds local runs of many clones, each followed only by
        the clone that ran it."""
        if self._clone is None:  # one git config (status asks for every run)
            self._clone = gitconfig.clone_id(str(self.registry.root))
        if not self._clone:  # the first run of this clone: one is made
            from shrek.git import GitRepo

            self._clone = GitRepo(self.registry.root).clone_id()
        return self._clone

    def ours(self, record: SubmissionData) -> bool:
        """Whether this clone ran ``record`` (a record from before clones were named: yes)."""
        owner = record.get("ids", {}).get("clone")
        return owner is None or owner == self.clone_id()

    def needs_attention(self, record: Record) -> bool:
        return self.ours(record.data) and needs_publishing(self.registry, record)

    def settle(self, record: Record) -> bool:
        return publish(self.registry, record)

    def task_link(self, record: SubmissionData) -> str:
        task = record.get("ids", {}).get("task")
        return f"`{task}`" if task else ""

    def submission_options(self, tag: Any, test: bool, options: dict[str, Any]) -> dict[str, Any]:
        if options.get("via") not in (None, "local"):
            raise ShrekError("--via is for the panda backend", "drop --via", ExitCode.USAGE)
        return options

    def output_names(
        self,
        tag: Any,
        steps: list[str],
        numbers: dict[str, int],
        test: bool,
        options: dict[str, Any],
    ) -> dict[str, dict[str, str]]:
        scope = "test" if test else self.registry.settings.get("local", {}).get("scope", "prod")
        return {
            step: {
                o.name: f"{scope}.{tag.name}.{step}.{o.name}.s{numbers[step]:04d}"
                for o in tag.steps[step].outputs
            }
            for step in steps
        }

    def details(self, submission: Submission) -> dict[str, dict[str, Any]]:
        return {}

    def check(self, submission: Submission) -> str:
        return ""

    def run_dir(self, run_id: str) -> Path:
        return self.registry.run_dir(run_id)

    # -- submit -----------------------------------------------------------------------------

    def submit(self, submission: Submission) -> dict[str, Accepted]:
        run_dir = self.run_dir(submission.run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        tag = submission.tag
        steps = []
        for plan in submission.steps:
            step = tag.steps[plan.step]
            steps.append(
                {
                    "step": plan.step,
                    "submission": submission_id(tag.name, plan.step, plan.number, submission.test),
                    "wrapper": f"{plan.step}.sh",
                    "first_sequence": plan.first_sequence,
                    "reserved": plan.reserved,
                    "jobs": step.jobs,
                    "max_attempts": int(step.requirements.get("max_attempts", 1)),
                    "upstream": plan.upstream_in_workflow,
                    "max_jobs": submission.options.get("probe_jobs"),  # shrek probe: the first N
                    "inputs": [self._input(tag, plan, item) for item in step.inputs],
                    "outputs": [
                        {
                            "name": o.name,
                            "dataset": plan.outputs[o.name],
                            "file": output_file(tag.name, step.name, o.name, o.files),
                            "ext": output_extension(o.files),
                        }
                        for o in step.outputs
                    ],
                }
            )
        write_json(
            run_dir / PLAN,
            {
                "run": submission.run_id,
                "tag": tag.name,
                "catalog": str(local_catalog_path(self.registry)),
                "store": str(self.registry.store_dir),
                "sandbox": str(submission.render_dir / SANDBOX),
                "sandbox_files": submission.rendering.travelling(),
                "workers": submission.workers or os.cpu_count() or 1,
                "measure": bool(submission.options.get("probe_jobs")),  # peak memory per job
                "steps": steps,
            },
        )
        self._start(run_dir, [])
        return {
            p.step: Accepted(
                {"request": submission.run_id, "task": f"{submission.run_id}/{p.step}"}
            )
            for p in submission.steps
        }

    def _input(self, tag: Any, plan: Any, item: Any) -> dict[str, Any]:
        """How the runner finds an input: another step's output from the local catalogue (it
        may not exist yet), an external dataset resolved now from the registry's catalogue."""
        spec: dict[str, Any] = {
            "dataset": plan.inputs[item.dataset],
            "files_per_job": item.files_per_job,
            "secondary": item.secondary,
            "max_files": item.max_files,
            "reusable": item.reusable,
            "match": item.match,
        }
        if tag.producer(item) is None:
            files = open_catalog(self.registry).files(item.dataset)
            unreadable = [f.name for f in files if not f.location or not Path(f.location).is_file()]
            if unreadable:
                raise ShrekError(
                    f"input dataset {item.dataset} has {len(unreadable)} file(s) "
                    f"not readable on this machine (e.g. {unreadable[0]})",
                    "the local backend reads files in place: register local copies "
                    "(shrek dataset add), or use a storage element mounted here",
                    ExitCode.BACKEND,
                )
            spec["files"] = [[f.name, f.location] for f in files]
        return spec

    def _start(self, run_dir: Path, extra: list[str]) -> None:
        """Start the runner in its own session, and wait until it is running: it writes its
        first state, then says so on a pipe (no polling; end of file: it stopped at once)."""
        ready, ready_to_write = os.pipe()
        try:
            try:
                with open(run_dir / "runner.log", "ab") as log:
                    process = subprocess.Popen(
                        [sys.executable, "-m", RUNNER_MODULE, str(run_dir), *extra],
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=log,
                        start_new_session=True,
                        cwd=run_dir,
                        pass_fds=(ready_to_write,),
                        env={**os.environ, READY_FD: str(ready_to_write)},
                    )
            finally:
                os.close(ready_to_write)  # the runner holds its own copy
            fault_point("runner-started")  # before the runner wrote its first state
            readable, _, _ = select.select([ready], [], [], START_TIMEOUT_S)
            said = os.read(ready, 16) if readable else None
        finally:
            os.close(ready)
        if said:
            return
        if said is None:
            raise ShrekError(
                "the local runner did not start", f"see {run_dir / 'runner.log'}", ExitCode.BACKEND
            )
        code = process.wait()
        raise ShrekError(
            f"the local runner stopped at once (exit {code})",
            f"see {run_dir / 'runner.log'}",
            ExitCode.BACKEND,
        )

    # -- status, kill, retry ---------------------------------------------------------------

    def _state(self, record: SubmissionData) -> tuple[Path, dict[str, Any] | None]:
        run_dir = self.run_dir(str(record.get("ids", {}).get("request", "")))
        state = run_dir / STATE
        return run_dir, (read_json(state) if state.exists() else None)

    @staticmethod
    def alive(state: dict[str, Any]) -> bool:
        pid = state.get("pid")
        if not pid or state.get("finished"):
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return str(state.get("run", "")).encode() in cmdline

    def refresh(self, record: SubmissionData) -> StatusUpdate:
        empty = no_jobs()
        if not self.ours(record):  # another clone's run: only that clone can tell; unchanged
            return StatusUpdate(
                str(record["state"]),
                {**(record.get("jobs") or empty)},
                "",
                {},
                list(record.get("failures", [])),
            )
        run_dir, state = self._state(record)
        if state is None:
            if record["state"] == "submitting" and runner_processes(run_dir):
                return StatusUpdate("submitted", empty, "the local runner is starting")
            if record["state"] == "submitting":
                return StatusUpdate(
                    "abandoned",
                    empty,
                    "interrupted before the local backend started it; no job ran",
                )
            return StatusUpdate("failed", empty, f"the run directory {run_dir} is gone")
        settled = ""
        if not state.get("finished") and not self.alive(state):
            try:  # the runner died: kill its leftover jobs, collect what finished
                settled = _recover(run_dir)
                state = read_json(run_dir / STATE)
            except OSError:  # a read-only checkout: say so below, settle later
                pass
        step = state["steps"].get(record["step"], {"state": "pending", "jobs": []})
        jobs = step["jobs"]
        states = [j["state"] for j in jobs]
        counts: JobCounts = {
            "total": len(jobs),
            "done": states.count("done"),
            "running": states.count("running"),
            "failed": states.count("failed") + states.count("killed"),
            "pending": states.count("pending"),
        }
        failures = self._failure_groups(run_dir, jobs)
        outcome = RENAMED_STATES.get(step["state"], step["state"])  # a run of an older SHREK
        note = settled or step.get("note", "")
        if outcome in ("pending", "running") and not self.alive(state):
            outcome, note = (
                "failed",
                (
                    f"the local runner stopped unexpectedly (see "
                    f"{self._relative(run_dir / 'runner.log')})"
                ),
            )
        elif outcome == "pending":
            outcome = "submitted"
        return StatusUpdate(outcome, counts, note, failures=failures)

    def measurements(self, record: SubmissionData) -> list[dict[str, Any]]:
        """What each job of the record's step used in its last attempt (``shrek probe``):
        exit status, wall and CPU seconds, peak memory (measured runs only) and output bytes."""
        _, state = self._state(record)
        if state is None:
            return []
        store = self.registry.store_dir
        outputs = list(record["datasets"]["outputs"].values())
        found = []
        for job in state["steps"].get(record["step"], {"jobs": []})["jobs"]:
            if not job.get("attempts"):
                continue
            last = job["attempts"][-1]
            paths = [store / d / name for d in outputs for name in job.get("outputs", [])]
            found.append(
                {
                    "seq": int(job["seq"]),
                    "exit": last.get("exit"),
                    "wall_s": float(last.get("wall_s", 0.0)),
                    "cpu_s": float(last.get("cpu_s", 0.0)),
                    "peak_rss_mb": float(last.get("peak_rss_mb", 0.0)),
                    "output_bytes": sum(p.stat().st_size for p in paths if p.exists()),
                }
            )
        return found

    def prefetch(self, records: list[SubmissionData]) -> None:
        pass  # each run's state is one file of this machine: nothing to gather first

    def job(self, record: SubmissionData, sequence: int) -> dict[str, Any] | None:
        """The job's entry in the state of the local run that ran it (None: not run here)."""
        _, state = self._state(record)
        if state is None:
            return None
        jobs = state["steps"].get(record["step"], {"jobs": []})["jobs"]
        return next((job for job in jobs if job["seq"] == sequence), None)

    def failed_jobs(self, record: SubmissionData) -> list[JobFailure]:
        """Every failed job of the record's step, one by one ('shrek status --failed')."""
        run_dir, state = self._state(record)
        if state is None:
            return []
        step = state["steps"].get(record["step"], {"jobs": []})
        return self._failures(run_dir, step["jobs"])

    def _failure_groups(self, run_dir: Path, jobs: list[dict[str, Any]]) -> list[FailureEntry]:
        """The failed jobs grouped by reason, as a record keeps them (none, without loading
        the grouping, for the runs where nothing failed: most of them)."""
        if not any(job["state"] in ("failed", "killed") for job in jobs):
            return []
        from shrek.core.failures import group

        return [g.as_dict() for g in group(self._failures(run_dir, jobs))]

    def _failures(self, run_dir: Path, jobs: list[dict[str, Any]]) -> list[JobFailure]:
        from shrek.core.failures import JobFailure, stderr_tail

        found = []
        for job in jobs:
            if job["state"] not in ("failed", "killed"):
                continue
            attempts = job.get("attempts") or []
            last = attempts[-1] if attempts else {}
            log = run_dir / last["dir"] / "stderr.log" if last else None
            error = str(last.get("error", ""))
            if not last:
                error = (
                    "killed before it started" if job["state"] == "killed" else ("never started")
                )
            found.append(
                JobFailure(
                    int(job["seq"]),
                    last.get("exit"),
                    len(attempts),
                    stderr_tail(log) if log else [],
                    self._relative(log) if log else "",
                    error,
                )
            )
        return found

    def _relative(self, path: Path) -> str:
        return self.registry.relative(path)

    def _refuse_others(self, record: SubmissionData, action: str) -> None:
        """A local run is acted on only by the clone that runs it (its jobs are on that
        machine): from any other clone, a refusal that says where."""
        if not self.ours(record):
            raise ShrekError(
                f"{record['id']} runs on the local backend of another clone "
                f"({record['ids'].get('clone')}; submitted by {record['submitted']['by']}): "
                f"its jobs are on that machine, so only that clone can {action} it",
                f"run 'shrek {action}' in the clone that submitted it",
                ExitCode.BACKEND,
            )

    def kill(self, record: SubmissionData) -> str:
        self._refuse_others(record, "kill")
        run_dir, state = self._state(record)
        if state is not None and not state.get("finished") and not self.alive(state):
            return _recover(run_dir) or "nothing was running"
        if state is None or not self.alive(state):
            return "nothing was running"
        os.kill(int(state["pid"]), signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = read_json(run_dir / STATE)
            if state.get("finished"):
                return f"killed the local run {state['run']} (every step of it)"
            time.sleep(0.05)
        raise ShrekError(
            f"the local run {state['run']} did not stop within 30 s",
            f"kill process {state['pid']} by hand",
            ExitCode.BACKEND,
        )

    def retry(self, record: SubmissionData, overrides: dict[str, Any]) -> str:
        self._refuse_others(record, "retry")
        run_dir, state = self._state(record)
        if state is None:
            raise ShrekError(
                f"the run of {record['id']} is gone from this machine",
                "submit the step again (shrek submit --again)",
                ExitCode.BACKEND,
            )
        if self.alive(state):
            raise ShrekError(
                f"{record['id']} is still running",
                "wait for it, or kill it first",
                ExitCode.BACKEND,
            )
        if overrides:
            raise ShrekError(
                "the local backend takes no retry overrides", "retry without them", ExitCode.USAGE
            )
        step = state["steps"][record["step"]]
        failed = [j for j in step["jobs"] if j["state"] in ("failed", "killed")]
        if not step["jobs"] and step["state"] in ("failed", "killed"):
            self._start(run_dir, ["--retry", record["step"]])  # never split: run it whole
            return f"running {record['step']}, which its runner never started"
        if not failed:
            raise ShrekError(
                f"{record['id']} has no failed jobs to retry",
                "nothing to do",
                ExitCode.NOTHING_TO_DO,
            )
        self._start(run_dir, ["--retry", record["step"]])
        return f"retrying {len(failed)} failed job(s) of {record['step']}"


def _recover(run_dir: Path) -> str:
    """Settle the run of a runner that died (:func:`shrek.backends.local.runner.recover`).
    Imported only then: the runner's module (its thread pool, catalogue and job launching)
    is not what a submit or a ``status`` of a healthy run needs."""
    from shrek.backends.local.runner import recover

    return recover(run_dir)
