"""The run directory, as both sides of the local backend read it: the command that starts and
follows a run (:mod:`shrek.backends.local.backend`) and the runner that executes it
(:mod:`shrek.backends.local.runner`).

Kept apart from the runner so that a submit or a ``status`` loads only what it reads here, not
the runner's thread pool, catalogue and job launching (7 ms of every such command).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

PLAN = "plan.json"  # what to run: written by the backend, read by the runner
STATE = "state.json"  # how it goes: written by the runner, read by the backend
READY_FD = "SHREK_RUNNER_READY_FD"  # the pipe the runner says it is running on
RUNNER_MODULE = "shrek.backends.local.runner"


def write_json(path: Path, data: Any) -> None:
    """Replace ``path`` atomically: a reader sees the old state or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def runner_processes(run_dir: Path) -> list[int]:
    """The processes running as the runner of ``run_dir`` (one, or none)."""
    wanted = [RUNNER_MODULE.encode(), str(run_dir).encode()]
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                arguments = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if all(w in arguments for w in wanted):
                found.append(int(entry.name))
    return found
