"""One panda-client call in a child process: ``python -m shrek.backends.panda.call``.

panda-client is written as command-line tools: it reads its server URLs once at import time,
rewrites ``sys.argv``, changes directory, prints, may wait up to 10 minutes on a silent server,
and reads credentials from the environment. Running each call in a child process gives SHREK a
clean environment per call (settings and credentials set before the import), a hard time
limit, and no side effects on the ``shrek`` process itself. The call is still panda-client's
own code: ``panda_api.get_api()`` (``execute_pchain``, ``execute_prun``, ``kill_task``,
``retry_task``) and, for looking tasks up by name, ``pandaclient.Client``. Nothing of
panda-client is patched.

Request (JSON on stdin): ``{"action": ..., "cwd": ..., "args": [...], "task_ids": [...],
"filters": {...}, "new_parameters": {...}}``. Reply (JSON on stdout): ``{"ok": bool,
"result": ..., "log": str}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
from typing import Any


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname}: {record.getMessage()}")


def _run(request: dict[str, Any]) -> tuple[bool, Any]:
    action = request["action"]
    if action in ("pchain", "prun"):
        from pandaclient import panda_api

        os.chdir(request["cwd"])
        api = panda_api.get_api()
        call = api.execute_pchain if action == "pchain" else api.execute_prun
        # (ok, dump): panda-client writes its dump (returnCode, requestID / jediTaskID) only
        # once it has talked to the server; no dump means it stopped before sending anything.
        return call(list(request["args"]), console_log=True)
    from pandaclient import Client

    if action == "tasks_since":  # every task of the user modified since a time: one request
        status, data = Client.get_tasks_detailed_info_since(
            since=request["since"], filters=None, n_tasks=request["n_tasks"]
        )
        if status != 0 or data is None:
            return False, {"failed": "tasks since " + request["since"], "status": status}
        return True, {"count": len(data), "tasks": {t.get("taskName"): t for t in data}}
    if action == "tasks":  # look tasks up by name: they appear asynchronously after a request
        found: dict[str, Any] = {}
        for name in request["names"]:
            status, data = Client.get_tasks_detailed_info_since(
                since=None, filters={"taskName": name}, n_tasks=10
            )
            if status != 0 or data is None:
                return False, {"failed": name, "status": status}
            found[name] = data[0] if data else None
        return True, found
    if action in ("kill", "retry"):
        from pandaclient import panda_api

        api = panda_api.get_api()
        results = {}
        for task_id in request["task_ids"]:
            if action == "kill":
                status, data = api.kill_task(task_id)
            else:
                status, data = api.retry_task(task_id, new_parameters=request.get("new_parameters"))
            results[str(task_id)] = [status, data]
        return all(r[0] == 0 for r in results.values()), results
    if action == "version":
        from pandaclient import PandaToolsPkgInfo

        return True, PandaToolsPkgInfo.release_version
    raise ValueError(f"unknown action {action}")


def main() -> int:
    request = json.loads(sys.stdin.read())
    from pandaclient import PLogger

    logger = PLogger.getPandaLogger()
    capture = _Capture()
    logger.handlers = [capture]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            ok, result = _run(request)
        reply = {"ok": bool(ok), "result": result}
    except SystemExit as exit_:
        reply = {"ok": False, "result": None, "error": f"panda-client exited with {exit_.code}"}
    except Exception as exc:
        reply = {"ok": False, "result": None, "error": f"{type(exc).__name__}: {exc}"}
    reply["log"] = "\n".join(
        capture.lines + [line for line in printed.getvalue().splitlines() if line.strip()]
    )
    stream = sys.__stdout__ or sys.stdout  # the parent reads the reply from the real stdout
    stream.write(json.dumps(reply, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
