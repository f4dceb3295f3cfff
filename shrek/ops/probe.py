"""``shrek probe TAG/STEP``: a measured pre-flight before a production asks PanDA for resources.

Memory, wall time and CPU time per event are typed into a step by hand; a PanDA job killed for
exceeding its memory costs a day. The probe runs the step's first N jobs on this machine (the
local backend, as a recorded ``--test`` submission), measures each job — wall time, CPU time of
the whole process tree (``wait4``), its peak resident memory (the whole session, sampled from
/proc), the size of its outputs — and judges every requirement: it fits, it is too tight, or it
is wasteful, with a suggested value. The measurements are kept in the test submission's record
(``probe``) and shown in the tag's README; ``--apply`` writes the suggestions into the step file,
uncommitted, for review.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shrek.backends.factory import get_backend
from shrek.core.records import Record
from shrek.core.registry import Registry
from shrek.core.submission import FailureEntry
from shrek.core.validate import require_valid
from shrek.core.yamlio import write_atomic
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.ops.plan import SubmitRequest
from shrek.ops.readme import write_readme
from shrek.ops.submit import Wait, submit

MEMORY_HEADROOM = 1.25  # suggested memory: the peak and a quarter, in 100 MB steps
WASTE = 3.0  # a request over three times what was measured is wasteful


@dataclass
class JobMeasure:
    seq: int
    exit: int | None
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    output_bytes: int


@dataclass
class Verdict:
    requirement: str
    requested: float | None
    measured: float | None
    verdict: str  # fits, too tight, wasteful, unknown
    suggested: int | None
    why: str = ""


@dataclass
class ProbeResult:
    tag: str
    step: str
    record: str
    jobs: list[JobMeasure] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # why probed jobs failed (not judged)
    applied: list[str] = field(default_factory=list)
    commit: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe(
    registry: Registry, target: str, *, jobs: int = 2, apply: bool = False, wait: Wait
) -> ProbeResult:
    """Run the first ``jobs`` jobs of TAG/STEP as a recorded test submission and judge the
    step's requirements by what they used."""
    name, step_name = registry.split_target(target)
    if step_name is None:
        raise ShrekError("probe measures one step", f"shrek probe {target}/STEP", ExitCode.USAGE)
    tag = require_valid(registry, name)
    if step_name not in tag.steps:
        raise ShrekError(
            f"tag {tag.name} has no step '{step_name}' (its steps: {', '.join(tag.order())})",
            "name one of its steps",
            ExitCode.NOT_FOUND,
        )
    if jobs < 1:
        raise ShrekError("--jobs must be at least 1", "e.g. --jobs 2", ExitCode.USAGE)
    request = SubmitRequest(
        f"{tag.label}/{step_name}",
        backend="local",
        test=True,
        again=True,
        workers=jobs,
        options={"probe_jobs": jobs},
    )
    submitted = submit(registry, request, wait=wait)
    (record,) = submitted.records
    measures = _measures(registry, record)
    step = tag.steps[step_name]
    # a failed job says nothing of what the step needs (it may have stopped at once): only
    # the jobs that succeeded are judged, and with none nothing is suggested or written
    succeeded = [m for m in measures if m.exit == 0]
    verdicts = judge(step.requirements, succeeded) if succeeded else []
    failed = [
        f"{group.get('count', 1)} job(s): {group.get('reason', 'failed')}" + _payload_said(group)
        for group in record.data.get("failures") or []
    ] or [f"job {m.seq}: exit {m.exit}" for m in measures if m.exit != 0]
    result = ProbeResult(
        tag.name, step_name, registry.relative(record.path), measures, verdicts, failed
    )
    record.data["probe"] = {
        "jobs": [asdict(m) for m in measures],
        "verdicts": [asdict(v) for v in verdicts],
    }
    record.save()
    result.commit = GitRepo(registry.root).commit(
        [record.path, write_readme(registry, tag.name)],
        f"shrek: probe {tag.name}: {step_name} #{record.number:04d} [TEST] ("
        + (", ".join(f"{v.requirement} {v.verdict}" for v in verdicts) or "no job succeeded")
        + ")",
    )
    if not succeeded:
        raise ShrekError(
            f"none of the {len(measures)} probed job(s) of {tag.label}/{step_name} succeeded, so "
            "no requirement was judged and nothing was written: " + "; ".join(failed[:3]),
            f"see why: shrek status --failed {tag.label}; fix the step, then probe again",
            ExitCode.BACKEND,
        )
    if apply:
        result.applied = apply_suggestions(registry.root / step.file, verdicts)
    return result


def _payload_said(group: FailureEntry) -> str:
    """The payload's own last stderr line in a failure group (not the wrapper's 'shrek[…]:'
    summary of it), quoted; '' when there is none."""
    said = [line for line in group.get("tail") or [] if not line.startswith("shrek[")]
    return f" ('{said[-1]}')" if said else ""


def _measures(registry: Registry, record: Record) -> list[JobMeasure]:
    backend = get_backend(registry, "local")  # a probe always runs on this machine
    found = [JobMeasure(**row) for row in backend.measurements(record.data)]
    if not found:
        raise ShrekError(
            f"the probe of {record.label} ran no job",
            "see 'shrek status --failed'",
            ExitCode.BACKEND,
        )
    return found


def judge(requirements: dict[str, Any], measures: list[JobMeasure]) -> list[Verdict]:
    """Each requirement against the most any probed job used."""
    peak = max(m.peak_rss_mb for m in measures)
    wall = max(m.wall_s for m in measures)
    cpu = max(m.cpu_s for m in measures)
    verdicts = [
        _verdict(
            "memory_mb",
            requirements.get("memory_mb"),
            peak,
            _round_up(peak * MEMORY_HEADROOM, 100),
        ),
        _verdict(
            "walltime_h",
            requirements.get("walltime_h"),
            wall / 3600,
            max(1, math.ceil(wall * 2 / 3600)),
        ),
    ]
    events = requirements.get("events_per_job")
    per_event = cpu / events if events else None
    if per_event is None:
        verdicts.append(
            Verdict(
                "cpu_time_per_event_s",
                requirements.get("cpu_time_per_event_s"),
                None,
                "unknown",
                None,
                "declare requirements.events_per_job to judge it",
            )
        )
    else:
        verdicts.append(
            _verdict(
                "cpu_time_per_event_s",
                requirements.get("cpu_time_per_event_s"),
                per_event,
                max(1, math.ceil(per_event * 1.5)),
            )
        )
    return verdicts


def _verdict(name: str, requested: Any, measured: float, suggested: int) -> Verdict:
    if requested is None:
        return Verdict(name, None, measured, "unknown", suggested, "not requested: PanDA's default")
    requested = float(requested)
    if measured > requested:
        return Verdict(name, requested, measured, "too tight", suggested)
    if requested > WASTE * max(measured, 1e-9) and suggested < requested:
        return Verdict(name, requested, measured, "wasteful", suggested)
    return Verdict(name, requested, measured, "fits", None)


def _round_up(value: float, step: int) -> int:
    return max(step, int(math.ceil(value / step) * step))


def apply_suggestions(path: Path, verdicts: list[Verdict]) -> list[str]:
    """Write the suggested values of the requirements that do not fit into the step file (its
    ``requirements:`` block), leaving everything else as written; returns what changed."""
    text = path.read_text(encoding="utf-8")
    changed = []
    for verdict in verdicts:
        if verdict.verdict not in ("too tight", "wasteful") or verdict.suggested is None:
            continue
        line = re.compile(rf"^(\s+{verdict.requirement}:\s*)\S+.*$", re.M)
        if line.search(text):
            text = line.sub(rf"\g<1>{verdict.suggested}", text, count=1)
        elif re.search(r"^requirements:\s*$", text, re.M):
            text = re.sub(
                r"^requirements:\s*$",
                f"requirements:\n  {verdict.requirement}: {verdict.suggested}",
                text,
                count=1,
                flags=re.M,
            )
        else:
            block = f"requirements:\n  {verdict.requirement}: {verdict.suggested}\n"
            text = text.rstrip("\n") + "\n" + block
        changed.append(f"{verdict.requirement}: {verdict.suggested}")
    if changed:
        write_atomic(path, text)
    return changed
