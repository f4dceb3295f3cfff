"""Planning a submission: what was asked, what the guards cleared, and each step's plan.

A plan numbers each step's submission, names the datasets it reads and writes, and reserves
its sequence numbers — before anything is journalled, so a refusal here leaves nothing behind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from shrek.backends import NOTHING, Backend, StepPlan
from shrek.catalogs.factory import open_catalog
from shrek.core.allocations import (
    ALLOCATIONS_FILE,
    Allocation,
    from_record,
    next_first,
    next_number,
    overlapping,
    registry_allocations,
)
from shrek.core.model import Input, Tag
from shrek.core.records import ACTIVE, Record, load_records, record_path
from shrek.core.records import next_number as next_record_number
from shrek.core.registry import Registry
from shrek.core.taint import Taints, registry_taints
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.ops.guards import (
    earlier_readers,
    jobs_failed,
    latest_completed,
    refuse_invalid_dataset,
    refuse_invalid_source,
    refuse_reread,
    refuse_tainted,
    standing,
)


class SubmitRequest(NamedTuple):
    """What ``shrek submit`` was asked to do."""

    target: str  # TAG (every step, in dependency order) or TAG/STEP
    backend: str | None = None  # default: the registry's
    test: bool = False
    again: bool = False
    workers: int | None = None  # local backend: jobs at once
    detach: bool = False
    options: Mapping[str, Any] = NOTHING  # backend options (via, no_check)
    overrides: Mapping[str, Any] = NOTHING  # backend settings, this time only
    first_sequence: int | None = None  # every step's first sequence number (default: the next)
    extends: str = ""  # shrek extend: the submission this one adds jobs to (its id)
    more_jobs: int | None = None  # shrek extend: how many jobs this time
    accept_tainted: bool = False  # read outputs derived from invalid ones (recorded)
    reread: bool = False  # read a primary input an earlier submission of the step read


class Cleared:
    """A submission the guards let through, with what they found; the plan adds the taints
    it accepted and the inputs read again, the submit the history it refreshed."""

    def __init__(  # noqa: PLR0913 - what the guards found, field by field
        self,
        registry: Registry,
        repo: GitRepo,
        backend: Backend,
        tag: Tag,
        steps: list[str],
        frozen: dict[str, Any] | None,
        overridden: list[str],  # the guards --test overrode, with their reasons
        options: dict[str, Any],  # settled by the backend (dataset bases, credentials checked)
        request: SubmitRequest,
        skipped: list[str],  # steps of TAG already done
    ) -> None:
        self.registry = registry
        self.repo = repo
        self.backend = backend
        self.tag = tag
        self.steps = steps
        self.frozen = frozen
        self.overridden = overridden
        self.options = options
        self.request = request
        self.skipped = skipped
        self.tainted: dict[str, dict[str, str]] = {}  # step -> accepted taints
        self.reread: dict[str, list[str]] = {}  # step -> earlier readers' ids
        # every record of the tag before this submission, as refreshed (under the registry lock)
        self.history: list[Record] = []

    @property
    def test(self) -> bool:
        return self.request.test


def plan_steps(cleared: Cleared) -> list[StepPlan]:
    """Number each step's submission, name its datasets and reserve its sequence numbers.

    The reservation is an upper bound on the number of jobs: a generator's ``jobs``; for an
    input-driven step, its primary input's files (the frozen count of an external dataset, or
    one file per job of the upstream step) divided by ``files_per_job``.
    """
    tag, steps = cleared.tag, cleared.steps
    allocations = registry_allocations(cleared.registry)
    tests = _test_allocations(tag) if cleared.test else []
    if cleared.test:  # test numbers: their own space, kept by the tag's test records
        allocations = allocations + tests
    numbers = {  # a test numbers after the tag's tests only; production after the registry's
        name: next_number(tests, tag.name, name)
        if cleared.test
        else max(next_number(allocations, tag.name, name), next_record_number(tag.directory, name))
        for name in steps
    }
    first = cleared.request.first_sequence or next_first(allocations, cleared.test)
    taints = registry_taints(cleared.registry.tags_dir)
    names = cleared.backend.output_names(tag, steps, numbers, cleared.test, cleared.options)
    _refuse_taken_names(cleared, allocations, names)
    plans: dict[str, StepPlan] = {}
    for name in steps:
        step = tag.steps[name]
        inputs: dict[str, str] = {}
        available: dict[str, int] = {}  # dataset -> number of files (at most)
        upstream: set[str] = set()
        for item in step.inputs:
            read, count, parent = _source(cleared, plans, name, item)
            inputs[item.dataset], available[item.dataset] = read, count
            if parent:
                upstream.add(parent)
            else:  # read from what exists: tainted? read before by this step?
                _check_existing_input(cleared, taints, name, item, read)
        reserved = _reserved(step.primary_inputs, step.jobs, available)
        if cleared.request.first_sequence is not None:
            _refuse_overlap(allocations, cleared.test, name, first, reserved)
        plans[name] = StepPlan(
            name,
            numbers[name],
            record_path(tag.directory, name, numbers[name], cleared.test),
            first,
            reserved,
            inputs,
            names[name],
            sorted(upstream),
        )
        first += reserved  # the next step's range follows: no two steps share a seed
    return [plans[s] for s in steps]


def _check_existing_input(
    cleared: Cleared, taints: Taints, step: str, item: Input, dataset: str
) -> None:
    """An input read from outputs that exist (not made by this submission): refused when it
    derives from invalid outputs, or — a primary input — when an earlier submission of the
    step read it already; each unless the request says so, which the record keeps."""
    tag, request = cleared.tag, cleared.request
    taint = taints.of_dataset(dataset)
    if taint:
        refuse_tainted(tag, step, dataset, taint, request.accept_tainted)
        cleared.tainted.setdefault(step, {})[dataset] = taint
    if item.secondary:
        return  # a background stream is meant to be read by many submissions
    readers = earlier_readers(tag, step, cleared.test, dataset)
    if readers and not request.reread:
        refuse_reread(tag, step, dataset, readers)
    if readers:
        cleared.reread.setdefault(step, []).extend(str(r.data["id"]) for r in readers)


def _test_allocations(tag: Tag) -> list[Allocation]:
    """What the tag's test submissions used. They are not in the registry's ledger: a test
    may run on a feature branch, and a ledger line there would make the branch conflict with
    every production submission made on the production branch meanwhile."""
    found = []
    for record in load_records(tag.directory):
        allocation = from_record(record.data) if record.test else None
        if allocation is not None:
            found.append(allocation)
    return found


def _refuse_overlap(
    allocations: list[Allocation], test: bool, step: str, first: int, reserved: int
) -> None:
    """A chosen first sequence number may not reuse a number any earlier submission of the
    registry was given (in its space, production or test): the same number means the same
    random seed."""
    last = first + reserved - 1
    taken = overlapping(allocations, test, first, last)
    if taken is not None:
        raise ShrekError(
            f"--first-sequence gives {step} the numbers {first}-{last}, but "
            f"{taken.submission} was given {taken.first}-{taken.last} "
            f"({ALLOCATIONS_FILE} line {taken.line})",
            f"choose a first number above {next_first(allocations, test) - 1}, or leave "
            "--first-sequence out to continue after every earlier submission",
            ExitCode.CONFLICT,
        )


def _refuse_taken_names(
    cleared: Cleared, allocations: list[Allocation], names: dict[str, dict[str, str]]
) -> None:
    """An output dataset name is written once: not one the ledger handed out before (another
    branch's submission that this checkout has not merged), nor one the catalogue already
    holds (made elsewhere). Checked before anything is journalled or any job runs."""
    given = {n: a for a in allocations for n in a.outputs}
    catalog = open_catalog(cleared.registry)
    for step, outputs in names.items():
        for dataset in outputs.values():
            earlier = given.get(dataset)
            where = (
                f"{ALLOCATIONS_FILE} line {earlier.line} gave it to {earlier.submission}"
                if earlier
                else "the catalogue already holds it"
                if catalog.exists(dataset)
                else ""
            )
            if where:
                raise ShrekError(
                    f"{step} would write dataset {dataset}, but {where}",
                    "outputs are never overwritten: if another clone or branch made this "
                    "submission, merge it (git pull) — its record and ledger line then give "
                    "the next submission new numbers; if this registry's history was rewound "
                    "(git reset), restore it (git reflog) instead of submitting over outputs "
                    "that exist",
                    ExitCode.CONFLICT,
                )


def _reserved(primary: list[Input], jobs: int | None, available: dict[str, int]) -> int:
    if primary:
        files = available[primary[0].dataset]
        if primary[0].max_files is not None:
            files = min(files, primary[0].max_files)
        return max(1, math.ceil(files / primary[0].files_per_job))
    return int(jobs or 1)


def _source(
    cleared: Cleared, plans: dict[str, StepPlan], consumer: str, item: Input
) -> tuple[str, int, str]:
    """(dataset read, its number of files at most, the step of this submission that makes it
    or "") for one input: an external dataset, a step of this submission, or the latest
    completed submission of an upstream step."""
    tag, backend = cleared.tag, cleared.backend
    made_by = tag.producer(item)
    if made_by is None:
        refuse_invalid_dataset(cleared.registry, item.dataset, consumer)
        frozen = {i["dataset"]: i["files"] for i in (cleared.frozen or {}).get("inputs", [])}
        count = frozen.get(item.dataset) or len(open_catalog(cleared.registry).files(item.dataset))
        return item.dataset, count, ""
    if made_by[0] in plans:
        parent = plans[made_by[0]]
        return parent.outputs[made_by[1]], parent.reserved, made_by[0]  # a file per job at most
    source = latest_completed(tag, made_by[0], cleared.test)
    if source is not None:
        refuse_invalid_source(tag, source, consumer, item.dataset)
    if source is None:
        raise _no_upstream(tag, cleared.test, consumer, item.dataset, made_by[0])
    if source.backend != backend.name:
        raise ShrekError(
            f"step {consumer} reads {item.dataset}, made by {made_by[0]} "
            f"#{source.number:04d} on the {source.backend} backend, not on {backend.name}",
            f"submit {made_by[0]} on {backend.name} first",
            ExitCode.NO_UPSTREAM,
        )
    used = source.data["sequences"][made_by[0]]
    dataset = source.data["datasets"]["outputs"][made_by[1]]
    from shrek.ops.outputs import require_intact  # only for an input an earlier run made

    require_intact(open_catalog(cleared.registry), dataset, consumer)
    return (
        dataset,
        used["last"] - used["first"] + 1,
        "",
    )


def _no_upstream(tag: Tag, test: bool, consumer: str, dataset: str, parent: str) -> ShrekError:
    """The refusal of a step whose input step has no done submission, with the one fix that
    leads on from where that step stands (each fix, followed, is the next step's way in)."""
    record = standing(tag, parent, test)
    target = f"{tag.label}/{parent}"
    then = f", then submit {consumer} (shrek submit {tag.label}/{consumer})"
    if record is None:
        ignored = None if test else latest_completed(tag, parent, True)
        because = (
            f" (its --test submission #{ignored.number:04d} is done, but a production "
            "submission reads only production outputs)"
            if ignored is not None
            else ""
        )
        where = f"{parent} has no done submission yet{because}"
        fix = f"submit it first: shrek submit {target}{then}; or submit the rest of the tag: "
        fix += f"shrek submit {tag.label}"
    elif record.state in ACTIVE:
        where = f"{parent} {record.label} is still {record.state}"
        fix = f"wait for it to end (shrek status {tag.label}){then}"
    elif record.state == "partial":
        where = f"{parent} {record.label} ended partial ({jobs_failed(record)})"
        fix = f"run its failed jobs again (shrek retry {target}){then}"
    else:
        where = f"{parent} {record.label} ended {record.state}"
        fix = f"submit it again (shrek submit {target}){then}"
    return ShrekError(
        f"step {consumer} reads {dataset}, but {where}: a step reads only the outputs of a "
        "done submission (every job succeeded)",
        fix,
        ExitCode.NO_UPSTREAM,
    )
