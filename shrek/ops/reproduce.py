"""``shrek reproduce TAG/STEP --job N``: run one job again here, exactly as it was submitted.

"Exactly" means: the registry as it was at the submission's journal commit (a git worktree,
so nothing in the user's checkout changes), the wrapper rendered from it — checked to be
byte-identical to the one the record names — the same sequence number, the same origin file,
and the same input files, found where the catalogue keeps them. Each output is then compared
with the catalogued one (size and checksum): ``identical``, or what differs. A failed job can
be run the same way to debug it here. Nothing is recorded or committed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shrek.backends.factory import get_backend
from shrek.core.datasets import DatasetFile, StoreCatalog
from shrek.core.failures import stderr_tail
from shrek.core.freeze import read_freeze
from shrek.core.hashing import adler32_file, sha256_file
from shrek.core.launch import start_job
from shrek.core.model import load_tag
from shrek.core.naming import ORIGIN_FILE
from shrek.core.records import Record, load_records
from shrek.core.registry import Registry
from shrek.core.render import OUTPUT_LIST, SANDBOX, Options, origin_text, select_steps
from shrek.errors import ExitCode, ShrekError
from shrek.git import GitRepo
from shrek.ops.provenance import Finder
from shrek.ops.render import render


@dataclass
class OutputComparison:
    output: str
    dataset: str
    file: str  # the catalogued file's name
    verdict: str  # identical, differs, missing (this run made none), not catalogued
    detail: str = ""


@dataclass
class Reproduction:
    submission: str
    sequence: int
    registry_commit: str
    exit_status: int
    original_exit: int | None
    directory: str  # where the job ran (kept with --keep, else removed)
    kept: bool
    outputs: list[OutputComparison] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return (
            self.exit_status == 0
            and bool(self.outputs)
            and all(o.verdict == "identical" for o in self.outputs)
        )


def reproduce(
    registry: Registry, target: str, sequence: int, keep: Path | None = None
) -> Reproduction:
    """Run job ``sequence`` of the step ``target`` again and compare its outputs."""
    name, step = registry.split_target(target)
    if step is None:
        raise ShrekError(
            "reproduce runs one job of one step",
            f"name the step: shrek reproduce {target}/STEP --job N",
            ExitCode.USAGE,
        )
    if keep is not None and keep.resolve().is_relative_to(registry.root.resolve()):
        raise ShrekError(
            f"--keep {keep} is inside the registry, whose checkout reproduce never changes",
            "keep the run outside it, e.g. --keep /tmp/reproduce-job",
            ExitCode.USAGE,
        )
    record = _record_of_job(registry, name, step, sequence)
    finder = Finder(registry)
    origin = finder.origin(record)
    original = _provenance_of(finder, record, sequence)  # the job's own account, if kept
    inputs = _job_inputs(registry, record, sequence, finder.catalog, original)
    repo = GitRepo(registry.root)
    scratch = Path(tempfile.mkdtemp(prefix="shrek-reproduce-"))
    try:
        tree = scratch / "registry"
        repo.add_worktree(tree, origin.registry_commit)
        try:
            sandbox = _render_as_submitted(registry, repo, tree, record, scratch / "render")
        finally:
            repo.remove_worktree(tree)
        workdir = _prepare_workdir(keep, scratch, sandbox, inputs)
        (workdir / ORIGIN_FILE).write_text(
            origin_text(origin.registry_commit, {step: origin.submission}), encoding="utf-8"
        )
        status = _run(workdir, step, sequence, inputs, origin.submission)
        result = Reproduction(
            origin.submission,
            sequence,
            origin.registry_commit,
            status,
            _original_exit(registry, record, sequence, original),
            str(workdir),
            keep is not None,
        )
        result.stderr_tail = stderr_tail(workdir / "stderr.log")
        result.outputs = _compare(finder.catalog, record, sequence, workdir)
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- which job -------------------------------------------------------------------------------


def _record_of_job(registry: Registry, name: str, step: str, sequence: int) -> Record:
    """The step's submission whose sequence range holds ``sequence`` (production first)."""
    records = [
        r
        for r in load_records(registry.tag_dir(name), step)
        if r.state != "abandoned"
        and r.data["sequences"][step]["first"] <= sequence <= r.data["sequences"][step]["last"]
    ]
    if not records:
        tag, _ = load_tag(registry, name)
        if tag is not None and not load_records(registry.tag_dir(name), step):
            select_steps(tag, [step])  # a step the tag never had: "did you mean ..."
        ranges = ", ".join(
            f"#{r.number:04d}: {r.data['sequences'][step]['first']}-"
            f"{r.data['sequences'][step]['last']}"
            for r in load_records(registry.tag_dir(name), step)
        )
        raise ShrekError(
            f"no submission of {name}/{step} gave a job the sequence number {sequence}",
            f"the step's submissions used {ranges}"
            if ranges
            else f"{name}/{step} has no submission yet",
            ExitCode.NOT_FOUND,
        )
    production = [r for r in records if not r.test]
    return (production or records)[-1]


def _job_inputs(
    registry: Registry,
    record: Record,
    sequence: int,
    catalog: StoreCatalog,
    job: dict[str, Any] | None,
) -> list[list[tuple[str, str]]]:
    """The job's input files per declared input, as (name, path on this machine): from the
    local run that ran it, else from the job's provenance file and the catalogue."""
    ran_here = get_backend(registry, record.backend).job(record.data, sequence)
    if ran_here is not None:
        return [[(n, loc) for n, loc in stream] for stream in ran_here["inputs"]]
    declared = list(record.data["datasets"]["inputs"])
    if not declared:
        return []
    if job is None:
        raise ShrekError(
            f"the input files of job {sequence} of {record.data['id']} are not known here "
            "(no local run and no catalogued provenance file for it)",
            "reproduce it on the machine that ran it, or register its inputs here",
            ExitCode.NOT_FOUND,
        )
    streams: list[list[tuple[str, str]]] = [[] for _ in declared]
    for item in job["inputs"]:
        dataset = record.data["datasets"]["inputs"].get(item["input"], item["input"])
        found = [f for d, f in catalog.find(item["name"]) if d == dataset]
        if not found or not Path(found[0].location).is_file():
            raise ShrekError(
                f"input file {item['name']} of {dataset} is not on this machine",
                "register a local copy (shrek dataset add), then reproduce again",
                ExitCode.NOT_FOUND,
            )
        streams[declared.index(item["input"])].append((item["name"], found[0].location))
    return streams


def _catalogued(catalog: StoreCatalog, dataset: str, sequence: int) -> DatasetFile | None:
    """Job ``sequence``'s file in an output dataset: the store names it ``…._<seq:06d><ext>``."""
    mark = f"._{sequence:06d}"
    files = catalog.files(dataset) if catalog.exists(dataset) else []
    return next(
        (f for f in files if f.name.endswith(mark) or f.name.rsplit(".", 1)[0].endswith(mark)),
        None,
    )


def _provenance_of(finder: Finder, record: Record, sequence: int) -> dict[str, Any] | None:
    """The job's provenance file, found through one of its catalogued outputs."""
    for dataset in record.data["datasets"]["outputs"].values():
        item = _catalogued(finder.catalog, dataset, sequence)
        node = finder.file_in(dataset, item.name) if item is not None else None
        if node is not None and node.job is not None:
            return node.job
    return None


def _original_exit(
    registry: Registry, record: Record, sequence: int, job: dict[str, Any] | None
) -> int | None:
    """How the job ended: its catalogued provenance file, else its local run's last attempt
    (a failed job has no catalogued outputs); None when neither is here."""
    if job is not None:
        return int(job["exit_status"])
    found = get_backend(registry, record.backend).job(record.data, sequence)
    attempts = found.get("attempts") if found else None
    return attempts[-1].get("exit") if attempts else None


# -- the job, as it was --------------------------------------------------------------------


def _render_as_submitted(
    registry: Registry, repo: GitRepo, tree: Path, record: Record, directory: Path
) -> Path:
    """Render the step from the registry at its journal commit; the wrapper must be the one
    the record names (same SHREK rendering), or the reproduction would not be exact."""
    root = tree / registry.root.resolve().relative_to(repo.root)
    then = Registry.open(root)
    tag, _ = load_tag(then, str(record.data["tag"]))
    if tag is None or record.step not in tag.steps:
        raise ShrekError(
            f"{record.data['id']}: the registry at {record.data['submitted']['registry_commit']}"
            " does not hold the step",
            "the registry's history was rewritten: restore it (git reflog)",
            ExitCode.NOT_FOUND,
        )
    frozen, _ = read_freeze(then, tag.name)
    sequences = record.data["sequences"][record.step]
    options = Options(
        first_sequence={record.step: sequences["first"]},
        code=tuple(frozen.get("code") or ()) if frozen else (),
    )
    rendering = render(then, tag, [record.step], options, record.data.get("freeze_digest"))
    wanted = record.data["commands"].get("wrapper_sha256")
    made = rendering.wrapper_sha256(record.step)
    if wanted and made != wanted:
        raise ShrekError(
            f"the wrapper of {record.data['id']} cannot be rendered again as it was (sha256 "
            f"{made[:16]}… now, {wanted[:16]}… submitted by SHREK "
            f"{record.data['submitted']['shrek_version']})",
            f"reproduce with the SHREK that submitted it: pip install "
            f"'sphenix-shrek=={record.data['submitted']['shrek_version']}'",
            ExitCode.DRIFT,
        )
    rendering.write(directory)
    return directory / SANDBOX


def _prepare_workdir(
    keep: Path | None, scratch: Path, sandbox: Path, inputs: list[list[tuple[str, str]]]
) -> Path:
    workdir = keep.resolve() if keep is not None else scratch / "job"
    if workdir.exists() and any(workdir.iterdir()):
        raise ShrekError(
            f"{workdir} is not empty", "give --keep a new or empty directory", ExitCode.CONFLICT
        )
    workdir.mkdir(parents=True, exist_ok=True)
    for source in sandbox.rglob("*"):
        target = workdir / source.relative_to(sandbox)
        if source.is_dir():
            target.mkdir(exist_ok=True)
        else:
            shutil.copy2(source, target)
    for stream in inputs:
        for name, location in stream:
            link = workdir / name
            if not link.exists():
                os.symlink(location, link)
    return workdir


def _run(
    workdir: Path, step: str, sequence: int, inputs: list[list[tuple[str, str]]], ident: str
) -> int:
    """Run the wrapper as the runner did: its own session, logs beside it; Ctrl-C stops it."""
    arguments = [",".join(name for name, _ in stream) for stream in inputs]
    environment = {**os.environ, "SHREK_JOB": f"reproduce/{ident}/{sequence}"}
    process = start_job(workdir, f"{step}.sh", sequence, arguments, environment)
    try:
        return process.wait()
    except KeyboardInterrupt:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait()
        raise


# -- the comparison --------------------------------------------------------------------------


def _compare(
    catalog: StoreCatalog, record: Record, sequence: int, workdir: Path
) -> list[OutputComparison]:
    """Each declared output of this run against the catalogued file of the original job."""
    listed = (
        (workdir / OUTPUT_LIST).read_text(encoding="utf-8").splitlines()
        if (workdir / OUTPUT_LIST).is_file()
        else []
    )
    made = {line.split(" ")[0]: line.split(" ")[1] for line in listed if line.strip()}
    found = []
    for output, dataset in record.data["datasets"]["outputs"].items():
        original = _catalogued(catalog, dataset, sequence)
        here = workdir / made[output] if output in made else None
        if original is None:
            found.append(
                OutputComparison(
                    output,
                    dataset,
                    "",
                    "not catalogued",
                    "the original job left no catalogued file to compare with",
                )
            )
            continue
        if here is None or not here.is_file():
            found.append(
                OutputComparison(
                    output, dataset, original.name, "missing", "this run made no such output"
                )
            )
            continue
        found.append(_compare_file(output, dataset, original, here))
    return found


def _compare_file(output: str, dataset: str, original: DatasetFile, here: Path) -> OutputComparison:
    size = here.stat().st_size
    checksum = f"adler32:{adler32_file(here)}"
    if size == original.size and checksum == original.checksum:
        return OutputComparison(output, dataset, original.name, "identical")
    differences = []
    if size != original.size:
        differences.append(f"size {original.size} -> {size}")
    if checksum != original.checksum:
        differences.append(f"checksum {original.checksum} -> {checksum}")
    differences.append(f"sha256 now {sha256_file(here).sha256[:16]}…")
    return OutputComparison(output, dataset, original.name, "differs", ", ".join(differences))
