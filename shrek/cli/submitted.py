"""``shrek submit`` from its parsed options to its last printed line: the request the options
make, the submission (followed, unless detached), and what is printed of it.

Both ways a submit command line runs come here: the typer command
(:func:`shrek.cli.submit.submit`) and the same command line run without loading typer
(:mod:`shrek.cli.direct`), so that they ask the same and print the same. Printing goes through
:func:`shrek.cli.say.say`, which prints as typer does.
"""

from __future__ import annotations

import os

from shrek.cli.say import say
from shrek.cli.text import json_text
from shrek.errors import ExitCode

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from shrek.ops.session import Registry
    from shrek.ops.submit import SubmitRequest, SubmitResult
    from shrek.ops.watch import Watch

UNSUCCESSFUL = ("failed", "partial", "killed", "cancelled")


def submit_request(
    target: str,
    *,
    backend: str | None = None,
    test: bool = False,
    again: bool = False,
    jobs: int | None = None,
    detach: bool = False,
    via: str | None = None,
    no_check: bool = False,
    panda: list[str] | None = None,
    first_sequence: int | None = None,
    accept_tainted: bool = False,
    reread: bool = False,
) -> SubmitRequest:
    """The request of ``shrek submit`` with these options (named as the command's)."""
    from shrek.ops.session import settings_pairs
    from shrek.ops.submit import SubmitRequest

    return SubmitRequest(
        target,
        backend=backend,
        test=test,
        again=again or reread,
        workers=jobs,
        detach=detach,
        options={k: v for k, v in (("via", via), ("no_check", no_check)) if v},
        overrides=settings_pairs(panda),
        first_sequence=first_sequence,
        accept_tainted=accept_tainted,
        reread=reread,
    )


def submit_and_report(
    registry: Registry, request: SubmitRequest, *, quiet: bool = False, as_json: bool = False
) -> int:
    """Submit, follow (unless detached) and print; the exit code: a step that did not
    succeed is the backend's failure."""
    from shrek.ops.submit import submit

    def wait(watch: Watch) -> None:
        from shrek.cli.watch import follow  # the progress display: not for a detached submit

        follow(watch, quiet=quiet or as_json)

    result = submit(registry, request, wait=wait)
    return int(ExitCode.BACKEND) if report_submission(result, as_json=as_json) else 0


def report_submission(result: SubmitResult, *, as_json: bool = False) -> bool:
    """Print what was submitted and how it went (``as_json``: as schemas/output/submit says);
    True when a step did not succeed."""
    failed = any(r.state in UNSUCCESSFUL for r in result.records)
    if as_json:
        say(json_text(submission_json(result)))
        return failed
    for warning in result.overridden:
        say(f"shrek: TEST submission despite: {warning.splitlines()[0]}", err=True)
    say(
        f"submitted {result.tag}: run {result.run_id} (journal {result.journal_commit[:12]},"
        f" record {result.commit[:12]})"
    )
    for line in result.skipped:
        say(f"  skipped {line} (its outputs are read)")
    for record in result.records:
        jobs = record.data.get("jobs", {})
        starting = record.state in ("submitted", "running") and not jobs.get("total")
        say(
            f"  {record.label}: "
            + (
                "starting"
                if starting
                else f"{record.state}  {jobs.get('done', 0)}/{jobs.get('total', 0)} job(s) done"
            )
            + "  -> "
            + ", ".join(record.data["datasets"]["outputs"].values())
        )
        for group in record.data.get("failures", []):
            say(f"    {group['count']} job(s) failed: {group['reason']}", err=True)
            if group.get("log"):
                say(f"      log: {here(result.registry, group['log'])}", err=True)
    if not result.followed:
        say(f"running in the background: shrek status {result.tag}")
    return failed


def submission_json(result: SubmitResult) -> dict:
    """What ``submit`` and ``extend`` did, for ``--json``."""
    return {
        "tag": result.tag,
        "run": result.run_id,
        "journal_commit": result.journal_commit,
        "commit": result.commit,
        "final_commit": result.final_commit,
        "followed": result.followed,
        "skipped": result.skipped,
        "overridden_guards": result.overridden,
        "submissions": [
            {
                "id": str(r.data["id"]),
                "step": r.step,
                "number": r.number,
                "test": r.test,
                "state": r.state,
                "record": result.registry.relative(r.path),
                "ids": r.data.get("ids", {}),
                "jobs": r.data.get("jobs", {}),
                "sequences": r.data["sequences"][r.step],
                "inputs": r.data["datasets"]["inputs"],
                "outputs": r.data["datasets"]["outputs"],
            }
            for r in result.records
        ],
    }


def here(registry: Registry, relative: str) -> str:
    """A registry-relative path as one that works from the current directory."""
    return os.path.relpath(registry.root / relative)
