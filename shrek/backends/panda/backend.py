"""The PanDA backend: submit, track, retry and kill productions through panda-client.

A tag (or one step) goes to PanDA as a CWL workflow through panda-client's pchain path
(``panda_api.get_api().execute_pchain``), or a single step through its prun path. Every call
runs panda-client in a child process (:mod:`shrek.backends.panda.call`) with the server
settings and credential in its environment, under a time limit.

Naming: the output dataset base is ``user.<nick>.<tag>.sNNNN`` (``group.<name>....`` with
``--official``; ``.test.`` before the tag for test submissions), so PanDA's task names
``<base>_<NNN>_<step>`` are unique and carry the label; step *k* of the workflow (in dependency
order, from 000) writes ``<task>_<output>/`` and logs to ``<task>.log/``.

Credentials are read, never stored: nothing from the environment reaches a record, a log kept
in the registry, or a commit, and the server's log text is scrubbed of anything token-like.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shrek.backends import Accepted, StatusUpdate, Submission, Uncertain
from shrek.backends.panda.checks import sandbox_too_big
from shrek.backends.panda.credentials import Credential, credential
from shrek.core.naming import (
    log_container,
    output_container,
    submission_base,
    task_name,
)
from shrek.core.records import Record, load_records
from shrek.core.registry import Registry
from shrek.core.render import SANDBOX
from shrek.core.submission import JobCounts, SubmissionData, no_jobs
from shrek.errors import ExitCode, ShrekError
from shrek.redact import redact

# PanDA task states -> record states.
STATES = {
    "registered": "submitted",
    "defined": "submitted",
    "assigning": "submitted",
    "ready": "submitted",
    "pending": "submitted",
    "scouting": "running",
    "scouted": "running",
    "running": "running",
    "prepared": "running",
    "toretry": "running",
    "throttled": "running",
    "paused": "running",
    "rerefine": "running",
    "topreprocess": "submitted",
    "preprocessing": "submitted",
    "done": "done",
    "finished": "partial",  # PanDA: some jobs failed
    "failed": "failed",
    "broken": "failed",
    "exhausted": "failed",
    "aborted": "killed",
    "tobroken": "failed",
}
# A kill PanDA has taken but not finished: the record keeps its state until 'aborted'.
KILLING = frozenset({"toabort", "aborting"})
PREFETCH_TASKS = 10000  # tasks one status request may return
NOT_VISIBLE_GRACE_S = 30 * 60  # tasks of an accepted request can take this long to appear


class PandaBackend:
    name = "panda"
    follows = False  # tasks run for hours: shrek status follows them
    kills_at_once = False  # killTask is a request: the task goes toabort, later aborted

    def __init__(self, registry: Registry, overrides: Mapping[str, Any] | None = None) -> None:
        self.registry = registry
        self.settings: dict[str, Any] = {**registry.settings.get("panda", {}), **(overrides or {})}
        self._credential: tuple[tuple[tuple[str, str], ...], Credential] | None = None
        self._prefetched: dict[str, Any] | None = None  # task name -> task, from prefetch()

    # -- identity, settings, credentials ------------------------------------------------

    def version(self) -> str:
        from importlib import metadata  # 10 ms: every rendering imports this module

        try:
            return f"panda-client {metadata.version('panda-client')}"
        except metadata.PackageNotFoundError as exc:
            raise ShrekError(
                "panda-client is not installed",
                "pip install panda-client (or make install)",
                ExitCode.TOOL_MISSING,
            ) from exc

    def new_run_id(self) -> str:
        return f"panda-{os.urandom(4).hex()}"

    def journal_ids(self, submission: Submission) -> dict[str, Any]:
        return {}  # the request and task ids come from the server

    def needs_attention(self, record: Record) -> bool:
        return False  # PanDA registers its outputs itself

    def settle(self, record: Record) -> bool:
        return False

    def task_link(self, record: SubmissionData) -> str:
        """The task in the PanDA monitor (``monitor_url``), or its id."""
        task = record.get("ids", {}).get("task")
        monitor = self.settings.get("monitor_url")
        if monitor and isinstance(task, int):
            return f"[{task}]({str(monitor).rstrip('/')}/task/{task}/)"
        return f"`{task}`" if task else ""

    def environment(self) -> dict[str, str]:
        """The child's environment: server URLs and OIDC settings (the user's own win)."""
        env = dict(os.environ)
        for key, variable in (
            ("url", "PANDA_URL"),
            ("url_ssl", "PANDA_URL_SSL"),
            ("cache_url", "PANDACACHE_URL"),
        ):
            if self.settings.get(key):
                env[variable] = str(self.settings[key])
        env.setdefault("PANDA_AUTH", "oidc")
        if self.settings.get("auth_vo"):
            env.setdefault("PANDA_AUTH_VO", str(self.settings["auth_vo"]))
        env["PANDA_BEHIND_REAL_LB"] = "1"  # no DNS look-ups at import time
        return env

    def credential(self, env: dict[str, str]) -> Credential:
        """The OIDC ID token panda-client will use (found, refreshed and decoded by its code)."""
        key = tuple(sorted(env.items()))
        if self._credential is None or self._credential[0] != key:
            self._credential = (key, credential(env))
        return self._credential[1]

    def token(self, env: dict[str, str]) -> str:
        return self.credential(env).token

    def scope(self, env: dict[str, str]) -> tuple[str, bool]:
        """(dataset scope, official), checked as panda-client's ``checkOutDsName`` will.

        ``user.<nick>`` must be the token's own nickname; ``group.<name>`` needs the production
        role in that group (``<name>/production`` among the token's groups).
        """
        claims = self.credential(env).claims
        nick = claims.get("preferred_username") or self.settings.get("nickname")
        configured = str(self.settings.get("scope") or "")
        if configured.startswith("group."):
            group = configured.split(".", 1)[1]
            role = env.get("PANDA_PRODUCTION_ROLE", "production")
            if f"{group}/{role}" not in (claims.get("groups") or []):
                raise ShrekError(
                    f"panda: {{scope: {configured}}} needs the {role} role in the group "
                    f"'{group}', which your token does not hold",
                    f"ask for the {role} role in {group}, or use your own scope user.{nick}",
                    ExitCode.CREDENTIALS,
                )
            return configured, True
        if not nick:
            raise ShrekError(
                "the OIDC token names no user (preferred_username)",
                "set panda: {nickname: ...} or {scope: user.<nick>} in shrek.yaml",
                ExitCode.CREDENTIALS,
            )
        if configured and configured != f"user.{nick}":
            raise ShrekError(
                f"panda: {{scope: {configured}}} is not yours: panda-client accepts only "
                f"user.{nick}.* output names from your token",
                f"set panda: {{scope: user.{nick}}} in shrek.yaml, or remove scope",
                ExitCode.CREDENTIALS,
            )
        return f"user.{nick}", False

    # -- naming ---------------------------------------------------------------------------

    def next_serial(self, tag_dir: Path) -> int:
        """The next ``sNNNN`` of this tag's PanDA submissions (never reused)."""
        serial = 0
        for record in load_records(tag_dir):
            out_ds = (record.data.get("backend_details") or {}).get("out_ds", "")
            match = re.search(r"\.s(\d{4,})$", out_ds)
            if match:
                serial = max(serial, int(match.group(1)))
        return serial + 1

    def out_ds(self, tag: str, tag_dir: Path, test: bool) -> str:
        scope, _ = self.scope(self.environment())
        return submission_base(scope, tag, self.next_serial(tag_dir), test)

    def submission_options(self, tag: Any, test: bool, options: dict[str, Any]) -> dict[str, Any]:
        """Checks the credential first, then fixes the output dataset base of this submission."""
        env = self.environment()
        self.token(env)
        scope, official = self.scope(env)
        return {
            **options,
            "out_ds": self.out_ds(tag.name, tag.directory, test),
            "official": official,
            "scope": scope,
        }

    def output_names(
        self,
        tag: Any,
        steps: list[str],
        numbers: dict[str, int],
        test: bool,
        options: dict[str, Any],
    ) -> dict[str, dict[str, str]]:
        base = options["out_ds"]
        names = {}
        for index, step in enumerate(steps):
            task = task_name(base, index, step, via_prun=options.get("via") == "prun")
            names[step] = {o.name: output_container(task, o.name) for o in tag.steps[step].outputs}
        return names

    def details(self, submission: Submission) -> dict[str, dict[str, Any]]:
        """Journalled before the call: what the server will be asked and what it will make."""
        base = submission.options["out_ds"]
        via = submission.options.get("via", "pchain")
        common = {
            "out_ds": base,
            "via": via,
            "server": {
                k: self.settings.get(k) or self.environment().get(v)
                for k, v in (
                    ("url", "PANDA_URL"),
                    ("url_ssl", "PANDA_URL_SSL"),
                    ("cache_url", "PANDACACHE_URL"),
                )
            },
            "vo": self.settings.get("vo"),
            "prod_source_label": self.settings.get("prod_source_label"),
            "working_group": self.settings.get("working_group"),
        }
        result = {}
        for index, plan in enumerate(submission.steps):
            task = task_name(base, index, plan.step, via_prun=via == "prun")
            if via == "prun":
                task += "/"  # prun names its task after the output container it makes
            result[plan.step] = {
                **common,
                "task_name": task,
                "log_container": log_container(task.removesuffix("/")),
                "output_containers": dict(plan.outputs),
                "prun": self._prun_args(submission, plan.step, task),
            }
        return result

    def _prun_args(self, submission: Submission, step: str, task: str) -> str:
        line = shlex.split(submission.rendering.extra[f"{step}.prun"])
        plan = next(p for p in submission.steps if p.step == step)
        arguments = line[1:]
        arguments[arguments.index("--outDS") + 1] = task
        tag = submission.tag
        primary = tag.steps[step].primary_inputs
        if primary and "--inDS" in arguments:
            arguments[arguments.index("--inDS") + 1] = plan.inputs[primary[0].dataset]
        return " ".join(shlex.quote(a) for a in ["prun", *arguments])

    # -- calls --------------------------------------------------------------------------

    def call(self, request: dict[str, Any], *, env: dict[str, str] | None = None) -> dict[str, Any]:
        """Run one panda-client call in a child process, under the time limit."""
        env = env or self.environment()
        secrets = [self.token(env)]
        timeout = float(self.settings.get("timeout_s", 300))
        try:
            run = subprocess.run(
                [sys.executable, "-m", "shrek.backends.panda.call"],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise Uncertain(
                f"the PanDA server did not answer within {timeout:.0f} s ({request['action']})",
                "check the server URLs in shrek.yaml and "
                "the server's health; 'shrek status' finds out whether it acted "
                "(nothing is submitted twice)",
                ExitCode.BACKEND,
            ) from exc
        try:
            reply = json.loads(run.stdout)
        except ValueError as exc:
            detail = redact((run.stderr or run.stdout).strip()[-800:], secrets)
            raise ShrekError(
                f"panda-client failed unexpectedly: {detail}",
                "re-run; report it if it persists",
                ExitCode.BACKEND,
            ) from exc
        reply["log"] = redact(reply.get("log", ""), secrets)
        if reply.get("error"):
            reply["error"] = redact(reply["error"], secrets)
        return reply

    @staticmethod
    def _server_words(log: str) -> str:
        """The server's own explanation in panda-client's log, else the log's errors."""
        if "messages from the server" in log:
            return log.split("messages from the server", 1)[1].strip()
        errors = [line for line in log.splitlines() if line.startswith(("ERROR", "WARNING"))]
        return "\n".join(errors) or log.strip()[-1500:]

    def _stage_checks(self, submission: Submission) -> list[str]:
        """pchain packs small files only: refuse what would be dropped or refused."""
        entries = submission.rendering.manifest()
        too_big = sandbox_too_big(entries)
        if too_big:
            raise ShrekError(
                too_big,
                "ship large files as an input dataset or through a code repository, not as "
                "resources",
                ExitCode.BACKEND,
            )
        largest = max(e["size"] for e in entries)
        limit_mb = max(1, math.ceil((largest + 1) / (1024 * 1024)))
        return ["--maxSizeInSandbox", str(limit_mb)] if largest >= 1024 * 1024 else []

    def _pchain_args(self, submission: Submission, *, check: bool) -> list[str]:
        args = [
            "--cwl",
            "workflow.cwl",
            "--yaml",
            "inputs.yaml",
            "--outDS",
            submission.options["out_ds"],
        ]
        for key, option in (
            ("vo", "--vo"),
            ("prod_source_label", "--prodSourceLabel"),
            ("working_group", "--workingGroup"),
        ):
            if self.settings.get(key):
                args += [option, str(self.settings[key])]
        if submission.options.get("official"):
            args.append("--official")
        args += self._stage_checks(submission)
        if check:
            args.append("--check")
        return args

    def _refused_locally(self, reply: dict[str, Any], what: str) -> ShrekError:
        """panda-client stopped before it sent the request (no dump): a refusal, never
        uncertain — its own checks (the output name, the credential) or the sandbox upload."""
        return ShrekError(
            f"{what}: panda-client stopped before sending it:\n"
            + self._server_words(reply.get("log", "") or reply.get("error", ""))
            + _credential_hint(reply.get("log", "")),
            "fix what it names (shrek render --check predicts most of it); nothing was sent",
            ExitCode.BACKEND,
        )

    def check(self, submission: Submission) -> str:
        """Ask the server to check the workflow; refuse with its own explanation.

        panda-client's check mode gives the server's verdict only as a log line (its dump's
        returnCode is 0 either way), so that line is read here; everything else goes by codes.
        """
        if submission.options.get("via") == "prun" or submission.options.get("no_check"):
            return ""
        reply = self.call(
            {
                "action": "pchain",
                "cwd": str(submission.render_dir / SANDBOX),
                "args": self._pchain_args(submission, check=True),
            }
        )
        if not reply.get("ok") and reply.get("result") is None:
            raise self._refused_locally(reply, "the PanDA server could not check the workflow")
        log = reply.get("log", "")
        if "successfully verified workflow description" in log:
            return self._server_words(log)
        if "workflow description is corrupted" in log:
            raise ShrekError(
                "the PanDA server rejected the workflow:\n" + self._server_words(log),
                "fix the tag (shrek render --check "
                "helps), or submit with --no-check to send it anyway",
                ExitCode.BACKEND,
            )
        raise ShrekError(
            "the PanDA server could not check the workflow:\n"
            + self._server_words(log or reply.get("error", ""))
            + _credential_hint(log),
            "check the server settings and your credential, then re-run; nothing was submitted",
            ExitCode.BACKEND,
        )

    def submit(self, submission: Submission) -> dict[str, Accepted]:
        """Hand the rendering to panda-client and read its verdict from its return codes.

        No dump: panda-client stopped before sending (a refusal). A dump with an id: accepted.
        pchain's dump with a false ``returnCode`` and no request id: the server looked and said
        no. Anything else (a communication failure, ``returnCode`` 1) may or may not have
        reached the server: :class:`Uncertain`, reconciled later by looking tasks up by name.
        """
        sandbox = submission.render_dir / SANDBOX
        self._stage_checks(submission)  # refuses a sandbox PanDA would not take
        prun = submission.options.get("via") == "prun"
        if prun:
            (plan,) = submission.steps
            arguments = shlex.split(self.details(submission)[plan.step]["prun"])[1:]
            request = {"action": "prun", "cwd": str(sandbox), "args": arguments}
        else:
            request = {
                "action": "pchain",
                "cwd": str(sandbox),
                "args": self._pchain_args(submission, check=False),
            }
        reply = self.call(request)
        dump = reply.get("result")
        if not reply.get("ok") and dump is None:
            raise self._refused_locally(reply, "nothing was submitted to PanDA")
        dump = dump if isinstance(dump, dict) else {}
        log = reply.get("log", "") or reply.get("error", "") or str(dump)
        if prun and dump.get("jediTaskID"):
            return {plan.step: self._accepted(reply, task=dump["jediTaskID"])}
        if not prun and dump.get("requestID") and not dump.get("returnCode"):
            return {
                p.step: self._accepted(reply, request=dump["requestID"]) for p in submission.steps
            }
        # prun: panda-client gives a refusal and a lost answer the same code (EC_Submit); its
        # dump's returnOut says which ("task submission failed." is the server's no).
        server_said_no = (
            str(dump.get("returnOut", "")).startswith("task submission failed.")
            if prun
            else "returnCode" in dump and not dump["returnCode"]
        )
        if not prun and str(dump.get("returnOut", "")).endswith("request_id=None"):
            # panda-server 1.x answers so when it took the sandbox but could not hand the
            # workflow on (no iDDS, or iDDS down): it says why only in its own log
            raise ShrekError(
                "PanDA made no request for the workflow: the server answered 'successfully "
                "submitted with request_id=None', which means it could not pass the workflow "
                "on to iDDS (its own log has the reason); nothing runs",
                "ask the PanDA operators whether iDDS is up; a single step can go through "
                "prun meanwhile: shrek submit TAG/STEP --backend panda --via prun",
                ExitCode.BACKEND,
            )
        if server_said_no:
            raise ShrekError(
                "PanDA refused the "
                + ("task" if prun else "workflow")
                + ":\n"
                + self._server_words(log),
                "see the server's message above",
                ExitCode.BACKEND,
            )
        raise Uncertain(
            "PanDA's answer to the submission could not be read:\n"
            + self._server_words(log)
            + _credential_hint(log),
            "'shrek status' looks its tasks up by name and records what "
            "happened; nothing is submitted twice",
            ExitCode.BACKEND,
        )

    def _accepted(self, reply: dict[str, Any], **ids: Any) -> Accepted:
        """The identifiers of an accepted submission, with the server's words."""
        return Accepted(ids, {"server_log": self._server_words(reply["log"])})

    # -- status, kill, retry --------------------------------------------------------------

    def prefetch(self, records: list[SubmissionData]) -> None:
        """Look up the tasks of many records in one request: every task of the user modified
        since the oldest of them was submitted (a day earlier, for clocks that disagree).
        Refreshing a tag's records then costs one panda-client call, not one per record. When
        the server returns as many tasks as asked for, some may be missing: the records are
        then looked up one by one, as without a prefetch."""
        names = [(r.get("backend_details") or {}).get("task_name") for r in records]
        if len([n for n in names if n]) < 2:
            return
        oldest = min(_timestamp(r["submitted"]["at"]) for r in records)
        since = datetime.fromtimestamp(oldest - 86400, UTC).strftime("%Y-%m-%d %H:%M:%S")
        reply = self.call({"action": "tasks_since", "since": since, "n_tasks": PREFETCH_TASKS})
        result = reply.get("result") or {}
        if reply.get("ok") and result.get("count", PREFETCH_TASKS) < PREFETCH_TASKS:
            self._prefetched = {k: v for k, v in result["tasks"].items() if k}

    def _tasks(self, record: SubmissionData) -> dict[str, Any]:
        name = (record.get("backend_details") or {}).get("task_name")
        if not name:
            return {}
        if self._prefetched is not None and name in self._prefetched:
            return {name: self._prefetched[name]}
        reply = self.call({"action": "tasks", "names": [name]})
        if not reply.get("ok"):
            raise ShrekError(
                "cannot look up tasks on the PanDA server: "
                + self._server_words(reply.get("log", "") or reply.get("error", "")),
                "check the server and your credential, then re-run 'shrek status'",
                ExitCode.BACKEND,
            )
        return {k: v for k, v in (reply.get("result") or {}).items() if v}

    def refresh(self, record: SubmissionData) -> StatusUpdate:
        tasks = self._tasks(record)
        name = (record.get("backend_details") or {}).get("task_name")
        empty = no_jobs()
        task = tasks.get(name) if name else None
        if task is None:
            if record["state"] == "submitting":
                age = time.time() - _timestamp(record["history"][-1]["at"])
                if age < NOT_VISIBLE_GRACE_S:
                    return StatusUpdate(
                        "submitting",
                        empty,
                        "not visible on the PanDA server yet; 'shrek status' will look again",
                    )
                return StatusUpdate(
                    "abandoned",
                    empty,
                    "no task of this submission appeared on the PanDA server: it never got there",
                )
            return StatusUpdate(record["state"], record.get("jobs") or empty)
        status = str(task.get("status", ""))
        note = f"PanDA task {task.get('jediTaskID')}: {status}"
        if status in KILLING:
            state = record["state"] if record["state"] in ("submitted", "running") else "running"
        elif _retry_not_taken_up(record, task):
            state = "running"
            note += " (retry requested; JEDI has not taken it up yet)"
        else:
            state = STATES.get(status, "running")
        total, done, failed = _file_counts(task)
        jobs: JobCounts = {
            "total": total,
            "done": done,
            "failed": failed,
            "running": max(0, total - done - failed) if state == "running" else 0,
            "pending": max(0, total - done - failed) if state == "submitted" else 0,
        }
        return StatusUpdate(
            state,
            jobs,
            note,
            ids={"task": task.get("jediTaskID")},
            details={"task_status": status},
        )

    def _task_ids(self, record: SubmissionData) -> list[int]:
        task = record.get("ids", {}).get("task")
        if isinstance(task, int):
            return [task]
        found = self._tasks(record)
        return [t["jediTaskID"] for t in found.values() if t.get("jediTaskID")]

    def failed_jobs(self, record: SubmissionData) -> None:
        return None  # PanDA's failures arrive grouped in the record (refresh)

    def measurements(self, record: SubmissionData) -> list[dict[str, Any]]:
        return []  # PanDA's jobs are measured at the sites, not here

    def job(self, record: SubmissionData, sequence: int) -> dict[str, Any] | None:
        return None  # no PanDA job leaves its state on this machine

    def kill(self, record: SubmissionData) -> str:
        ids = self._task_ids(record)
        if not ids:
            raise ShrekError(
                f"{record['id']} has no task on the PanDA server yet",
                "wait until 'shrek status' shows its task, then kill it",
                ExitCode.BACKEND,
            )
        reply = self.call({"action": "kill", "task_ids": ids})
        results = reply.get("result") or {}
        refused = {k: v for k, v in results.items() if _refused(v)}
        if not reply.get("ok") or refused or not results:
            said = "; ".join(f"task {k}: {_answer(v)}" for k, v in refused.items())
            raise ShrekError(
                f"PanDA refused to kill: {said or reply.get('error') or reply.get('log')}",
                "a task just submitted is known to the server only once JEDI has registered "
                "it: run 'shrek status', then kill again",
                ExitCode.BACKEND,
            )
        return (
            f"kill requested for PanDA task(s) {', '.join(map(str, ids))}; "
            "'shrek status' records it killed once PanDA has aborted it"
        )

    def retry(self, record: SubmissionData, overrides: dict[str, Any]) -> str:
        """Ask PanDA to retry the task; PanDA decides (its code and message are shown as they
        are: it refuses, for example, a task still ``prepared`` with code 4)."""
        ids = self._task_ids(record)
        if not ids:
            raise ShrekError(
                f"{record['id']} has no task on the PanDA server",
                "'shrek status' first",
                ExitCode.BACKEND,
            )
        new_parameters = {"ramCount": overrides["memory_mb"]} if "memory_mb" in overrides else None
        reply = self.call({"action": "retry", "task_ids": ids, "new_parameters": new_parameters})
        results = reply.get("result") or {}
        # pbook's own reading: a plain retry is taken with 0, one with new parameters with 3
        # ("reactivation accepted": the task is re-executed with them)
        accepted = (3,) if new_parameters else (0, True)
        refused = {k: v for k, v in results.items() if _refused(v, accepted)}
        if refused or not results:
            said = "; ".join(f"task {k}: {_answer(v)}" for k, v in refused.items())
            raise ShrekError(
                f"PanDA refused the retry: {said or reply.get('error') or reply.get('log')}",
                "see the task in the PanDA monitor; 'shrek status' shows its state",
                ExitCode.BACKEND,
            )
        extra = f" with memory {overrides['memory_mb']} MB" if new_parameters else ""
        return f"retry requested for PanDA task(s) {', '.join(map(str, ids))}{extra}"


def _refused(result: Any, accepted: tuple[Any, ...] = (0, True)) -> bool:
    """panda-client's ``(status, answer)``: a communication failure, or the server's
    ``(code, message)`` with a code other than ``accepted``, or its ``(False, message)``."""
    status, answer = [*result, None, None][:2]
    if status != 0:
        return True
    if isinstance(answer, (list, tuple)) and answer:
        return answer[0] not in accepted
    return answer is False


def _answer(result: Any) -> str:
    status, answer = [*result, None, None][:2]
    if status != 0:
        return f"no answer (panda-client status {status})"
    if isinstance(answer, (list, tuple)) and len(answer) >= 2:
        return f"code {answer[0]}: {answer[1]}"
    return str(answer)


def _retry_not_taken_up(record: SubmissionData, task: dict[str, Any]) -> bool:
    """Whether the task still shows the end state a retry was asked to leave: a retry is a
    command JEDI takes up on its next cycle, and until then the server reports the old state.
    A task that changed state after the request (or a request older than the grace period,
    which JEDI never took up) is read as it is."""
    if STATES.get(str(task.get("status"))) not in ("partial", "failed", "done", "killed"):
        return False
    asked = next(
        (
            h["at"]
            for h in reversed(record.get("history", []))
            if str(h.get("note", "")).startswith("retry: ")
        ),
        None,
    )
    if asked is None or time.time() - _timestamp(asked) > NOT_VISIBLE_GRACE_S:
        return False
    changed = task.get("stateChangeTime") or task.get("modificationTime")
    try:  # the server's naive UTC, e.g. '2026-12-04 07:58:29.195381'
        at = datetime.fromisoformat(str(changed)).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return False
    # the request is recorded to the second: a state change within that second came before
    # it (JEDI takes a command up on a later cycle, never within the second it was sent)
    return at < _timestamp(asked) + 1


def _file_counts(task: dict[str, Any]) -> tuple[int, int, int]:
    """(files, finished, failed) of a task's primary input: panda-server 1.x gives them at the
    top level of a task's details (``nFiles``, ``nFilesFinished``, ``nFilesFailed``); the
    monitor's task view nests them in ``dsinfo``. A task without input counts its jobs."""
    info = task.get("dsinfo") or {}

    def count(top: str, nested: str) -> int:
        return int(task.get(top) or info.get(nested) or 0)

    return (
        count("nFiles", "nfiles"),
        count("nFilesFinished", "nfilesfinished"),
        count("nFilesFailed", "nfilesfailed"),
    )


def _credential_hint(log: str) -> str:
    if re.search(r"\b403\b|forbidden|unauthori[sz]ed|invalid token|expired", log, re.I):
        return "\n(the server refused the credential: get a new OIDC token and check PANDA_AUTH_VO)"
    return ""


def _timestamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
