"""A stand-in PanDA server on 127.0.0.1 that speaks the HTTP protocol panda-client uses.

Endpoints (as panda-client 2.x calls them): the sandbox upload (``file_server/
validate_cache_file``, ``file_server/upload_cache_file``), the workflow request
(``/server/panda/put_workflow_request``, check and submit), task queries
(``task/get_tasks_detailed_info_since``), ``task/kill``, ``task/retry`` and ``task/submit``
(prun). A submitted CWL is read from the uploaded sandbox and expanded into tasks the way the
server does: one task per step named ``<outDS>_<NNN>_<step>`` (NNN in dependency order), parents
from ``<step>/outDS`` references, secondary placeholders resolved, unknown prun inputs and
``%{DSn}`` left in ``opt_args`` refused.

Faults for tests: ``stub.fault = {"endpoint": "put_workflow_request", "kind": "timeout" |
"500" | "garbage" | "403"}``; ``stub.hide_tasks`` to make accepted tasks invisible.
"""

from __future__ import annotations

import base64
import gzip
import io
import itertools
import json
import re
import tarfile
import threading
import time
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

PRUN_INPUTS = {
    "opt_inDS",
    "opt_inDsType",
    "opt_secondaryDSs",
    "opt_secondaryDsTypes",
    "opt_args",
    "opt_exec",
    "opt_useAthenaPackages",
    "opt_containerImage",
}


def make_token(user: str = "jdoe", exp: float = 4_000_000_000, groups=("sphenix",)) -> str:
    """An unsigned OIDC ID token (panda-client only decodes the payload)."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return ".".join(
        [
            part({"alg": "none", "typ": "JWT"}),
            part(
                {"preferred_username": user, "name": "Jane Doe", "exp": exp, "groups": list(groups)}
            ),
            "signature",
        ]
    )


def _now() -> str:
    """A task's modificationTime as the server writes it (UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


class PandaStub:
    def __init__(self) -> None:
        self.uploads: dict[str, bytes] = {}
        self.requests: dict[int, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []  # (endpoint, authorization)
        self.fault: dict[str, str] | None = None
        self.hide_tasks = False
        self.rejected_tokens: set[str] = set()
        self.refusal_log: str | None = None  # refuse every workflow with this log
        # OIDC: the refresh token the token endpoint accepts, and the ID tokens it handed out
        self.refresh_token = "refresh-me"
        self.refreshed: list[str] = []
        self._ids = itertools.count(1001)
        self._requests = itertools.count(77)
        self._release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> PandaStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def environment(self, token: str) -> dict[str, str]:
        return {
            "PANDA_URL": f"{self.url}/server/panda",
            "PANDA_URL_SSL": f"{self.url}/server/panda",
            "PANDACACHE_URL": f"{self.url}/server/panda",
            "PANDA_AUTH": "oidc",
            "PANDA_AUTH_VO": "sphenix",
            "PANDA_AUTH_ID_TOKEN": token,
            "PANDA_BEHIND_REAL_LB": "1",
        }

    def task_by_name(self, name: str) -> dict[str, Any] | None:
        return next((t for t in self.tasks.values() if t["taskName"] == name), None)

    def set_status(
        self, name: str, status: str, *, files: int = 0, finished: int = 0, failed: int = 0
    ) -> None:
        task = self.task_by_name(name)
        assert task is not None, name
        task.update(
            status=status,
            # panda-server 1.x's task details carry the counts at the top level
            nFiles=files,
            nFilesFinished=finished,
            nFilesFailed=failed,
            modificationTime=_now(),
        )

    # -- the workflow parser (what the server does with a CWL) ------------------------------

    def expand(self, params: dict[str, Any]) -> tuple[bool, str, list[dict[str, Any]]]:
        if self.refusal_log is not None:  # a server that refuses and says too much
            return False, self.refusal_log, []
        archive = self.uploads.get(params["sandbox"])
        if archive is None:
            return False, f"sandbox {params['sandbox']} was not uploaded", []
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            members = {m.name.removeprefix("./"): m for m in tar.getmembers()}

            def read(name: str) -> str:
                member = members.get(name)
                if member is None:
                    raise KeyError(name)
                return tar.extractfile(member).read().decode()

            try:
                cwl = yaml.safe_load(read(params["workflowSpecFile"]))
                inputs = yaml.safe_load(read(params["workflowInputFile"])) or {}
            except KeyError as missing:
                return False, f"{missing} is not in the sandbox", []
        steps = cwl.get("steps", {})
        parents: dict[str, list[str]] = {}
        for name, step in steps.items():
            if str(step.get("run", "")).rsplit("/", 1)[-1] not in ("prun", "prun.cwl"):
                return False, f"{name}: unsupported run {step.get('run')}", []
            unknown = set(step.get("in", {})) - PRUN_INPUTS
            if unknown:
                return False, f"unknown input parameter {sorted(unknown)[0]} for prun", []
            refs = [step["in"].get("opt_inDS")]
            secondary = step["in"].get("opt_secondaryDSs")
            if isinstance(secondary, dict):
                refs += secondary.get("source", [])
            parents[name] = [str(r).split("/")[0] for r in refs if str(r).endswith("/outDS")]
        order: list[str] = []
        while len(order) < len(steps):
            ready = [s for s in steps if s not in order and set(parents[s]) <= set(order)]
            if not ready:
                return False, "the workflow has a cycle", []
            order.append(ready[0])
        out_ds = params["outDS"]
        tasks = []
        names = {s: f"{out_ds}_{i:03d}_{s}" for i, s in enumerate(order)}
        for step in order:
            spec = steps[step]["in"]

            def value(key: str, spec: dict = spec) -> Any:
                entry = spec.get(key)
                return entry.get("default", "") if isinstance(entry, dict) else entry

            args, command = str(value("opt_args") or ""), str(value("opt_exec"))
            secondary = spec.get("opt_secondaryDSs")
            sources = secondary.get("source", []) if isinstance(secondary, dict) else []
            types = value("opt_secondaryDsTypes") or [None] * len(sources)
            for n, (source, kind) in enumerate(zip(sources, types, strict=False), start=1):
                dataset = (
                    f"{names[source.split('/')[0]]}_{kind}/"
                    if source.endswith("/outDS")
                    else inputs.get(source, source)
                )
                args = args.replace(f"%{{SECDS{n}}}", dataset)
            leftover = re.search(r"%{[A-Z]*DS(\d+|\*)}", args + command)
            if leftover:
                return False, f"{leftover.group(0)} is unresolved in {step}", []
            in_ds = spec.get("opt_inDS")
            primary = None
            if isinstance(in_ds, str) and in_ds.endswith("/outDS"):
                primary = f"{names[in_ds.split('/')[0]]}_{value('opt_inDsType')}/"
            elif in_ds:
                primary = inputs.get(in_ds, in_ds)
            cli = [
                "prun",
                *args.split(),
                *(["--inDS", primary] if primary else []),
                "--exec",
                command,
                "--outDS",
                names[step],
            ]
            tasks.append(
                {
                    "taskName": names[step],
                    "step": step,
                    "parents": [names[p] for p in parents[step]],
                    "cliParams": " ".join(cli),
                }
            )
        log = "\n".join(f"task {t['taskName']} parents={t['parents']}" for t in tasks)
        return True, log, tasks

    # -- HTTP ---------------------------------------------------------------------------------

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _reply(self, code: int, body: Any, *, raw: bool = False) -> None:
                data = body if raw else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/html" if raw else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _fault(self, endpoint: str) -> bool:
                fault = stub.fault or {}
                if fault.get("endpoint") not in (endpoint, "*"):
                    return False
                kind = fault["kind"]
                if kind == "timeout":
                    stub._release.wait(20)
                    return True
                if kind == "500":
                    self._reply(500, b"<html>Internal Server Error</html>", raw=True)
                elif kind == "garbage":
                    self._reply(200, b"<html>this is not JSON</html>", raw=True)
                elif kind == "403":
                    self._reply(403, b"<html>Forbidden: invalid token</html>", raw=True)
                return True

            def _authorised(self, endpoint: str) -> bool:
                auth = self.headers.get("Authorization", "")
                stub.calls.append((endpoint, auth))
                if not auth.startswith("Bearer ") or auth[7:] in stub.rejected_tokens:
                    self._reply(403, b"<html>Forbidden: bad credential</html>", raw=True)
                    return False
                return True

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path.startswith("/auth/"):  # the VO's OIDC configuration (no token)
                    self._reply(
                        200,
                        {
                            "client_id": "panda",
                            "client_secret": "",
                            "audience": "panda",
                            "oidc_config_url": f"{stub.url}/oidc/configuration",
                        },
                    )
                    return
                if url.path == "/oidc/configuration":
                    self._reply(
                        200,
                        {
                            "token_endpoint": f"{stub.url}/oidc/token",
                            "device_authorization_endpoint": f"{stub.url}/oidc/device",
                        },
                    )
                    return
                endpoint = url.path.rsplit("/api/v1/", 1)[-1]
                if not self._authorised(endpoint) or self._fault(endpoint):
                    return
                query = parse_qs(url.query)
                if endpoint == "task/get_tasks_detailed_info_since":
                    # as the server does: equality filters, modificationTime >= since (when
                    # given), the newest n_tasks first
                    filters = json.loads(query.get("filters", ["{}"])[0])
                    since = query.get("since", [""])[0]
                    limit = int(query.get("n_tasks", ["500"])[0])
                    found = (
                        []
                        if stub.hide_tasks
                        else [
                            {k: v for k, v in t.items() if k not in ("step",)}
                            for t in sorted(
                                stub.tasks.values(), key=lambda t: t["jediTaskID"], reverse=True
                            )
                            if all(str(t.get(k)) == str(v) for k, v in filters.items())
                            and t.get("modificationTime", "") >= since
                        ][:limit]
                    )
                    self._reply(200, {"success": True, "message": "", "data": found})
                else:
                    self._reply(404, {"success": False, "message": "no such endpoint"})

            def do_POST(self) -> None:
                url = urlparse(self.path)
                if url.path == "/oidc/token":  # refresh-token grant, as openidc_utils sends it
                    form = parse_qs(self._body().decode())
                    if form.get("refresh_token") != [stub.refresh_token]:
                        self._reply(400, {"error": "invalid_grant"})
                        return
                    token = make_token("jdoe", exp=4_000_000_000 + len(stub.refreshed))
                    stub.refreshed.append(token)
                    self._reply(200, {"id_token": token, "refresh_token": stub.refresh_token})
                    return
                endpoint = url.path.rsplit("/api/v1/", 1)[-1].rsplit("/server/panda/", 1)[-1]
                body = self._body()
                if not self._authorised(endpoint) or self._fault(endpoint):
                    return
                if endpoint == "file_server/validate_cache_file":
                    self._reply(200, {"success": True, "message": "", "data": None})
                elif endpoint == "file_server/upload_cache_file":
                    message = BytesParser(policy=email_policy).parsebytes(
                        b"Content-Type: "
                        + self.headers["Content-Type"].encode()
                        + b"\r\n\r\n"
                        + body
                    )
                    for part in message.iter_parts():
                        stub.uploads[part.get_filename()] = part.get_payload(decode=True)
                    self._reply(200, {"success": True, "message": "", "data": None})
                elif endpoint == "put_workflow_request":
                    request = json.loads(gzip.decompress(body))
                    params = json.loads(request["data"])
                    ok, log, tasks = stub.expand(params)
                    if request.get("check") or not ok:
                        self._reply(200, [True, {"status": ok, "log": log, "request_id": None}])
                        return
                    request_id = next(stub._requests)
                    stub.requests[request_id] = {"params": params, "tasks": tasks}
                    for task in tasks:
                        task_id = next(stub._ids)
                        stub.tasks[task_id] = {
                            **task,
                            "jediTaskID": task_id,
                            "reqID": request_id,
                            "status": "registered",
                            "nFiles": 0,
                            "modificationTime": _now(),
                        }
                    self._reply(200, [True, {"status": True, "request_id": request_id, "log": log}])
                elif endpoint == "task/submit":
                    params = json.loads(body)["task_parameters"]
                    task_id = next(stub._ids)
                    stub.tasks[task_id] = {
                        "taskName": params["taskName"],
                        "jediTaskID": task_id,
                        "status": "registered",
                        "nFiles": 0,
                        "cliParams": params.get("cliParams", ""),
                        "modificationTime": _now(),
                    }
                    self._reply(
                        200,
                        {
                            "success": True,
                            "message": f"succeeded. jediTaskID={task_id}",
                            "data": None,
                        },
                    )
                elif endpoint in ("task/kill", "task/retry"):
                    data = json.loads(body)
                    task = stub.tasks.get(int(data["task_id"]))
                    if task is None:  # as the real server: data is the code
                        self._reply(200, {"success": False, "message": "not found", "data": 2})
                        return
                    # as panda-server 1.0.4: a kill is a request (toabort, aborted later by
                    # JEDI); a retry is a command JEDI takes up later (the task keeps its state
                    # until then), and one with new parameters is a reactivation, code 3
                    code = 0
                    if endpoint == "task/kill":
                        task["status"] = "toabort"
                    else:
                        task["retried_with"] = data.get("new_parameters")
                        code = 3 if data.get("new_parameters") else 0
                    self._reply(
                        200,
                        {
                            "success": True,
                            "message": "command is registered",
                            "data": code,
                        },
                    )
                else:
                    self._reply(404, {"success": False, "message": "no such endpoint"})

        return Handler
