"""How a job's wrapper is started on this machine.

The local runner starts every job so, and ``shrek reproduce`` its one job, whichever backend
ran the original: one definition, so a reproduction runs exactly as the local jobs did.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def start_job(
    workdir: Path, wrapper: str, sequence: int, arguments: list[str], environment: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start a job's wrapper in ``workdir``, in a session of its own (so its whole process
    tree can be measured and stopped), its output in ``stdout.log`` and ``stderr.log``
    beside it. The arguments are a list, never a shell line: parameter values stay quoted."""
    with open(workdir / "stdout.log", "wb") as out, open(workdir / "stderr.log", "wb") as err:
        return subprocess.Popen(
            ["bash", wrapper, str(sequence), *arguments],
            cwd=workdir,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=environment,
            start_new_session=True,
        )
