"""Render a tag into what a backend needs: wrapper scripts, PanDA's CWL, prun lines, manifest.

Everything is generated deterministically from the tag (the same input gives byte-identical
files), and is shaped by the mistakes of the 2022 prototype:

- parameters reach the job only as ``export name=<shell-quoted value>``: a value with spaces,
  quotes, ``$``, backticks or newlines arrives intact and is never executed;
- every dependency, primary *and secondary*, is a ``<step>/outDS`` reference in the CWL, so
  PanDA's server sees every edge;
- ``%{DSn}`` is never used in ``opt_args`` (the server leaves it literal there); secondary
  streams use ``--secondaryDSs INk:<n>:%{SECDSj}``; no obsolete options;
- the wrapper exits with the payload's status, fails when a declared output is missing, and
  never fakes an output;
- exactly the manifest's files travel: they are written into ``sandbox/`` and nothing else is.

Outputs: each declared output must match exactly one file per job, which the wrapper renames
to ``<tag>.<step>.<output><ext>`` so every output file carries the production label (and
PanDA, given a fixed name, does not tar several files into one ``.tgz``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shrek import __version__
from shrek.core.hashing import sha256_bytes, sha256_file
from shrek.core.model import Input, Step, Tag
from shrek.core.registry import Registry
from shrek.core.resources import expand
from shrek.core.yamlio import dump_yaml, write_atomic
from shrek.errors import ExitCode, ShrekError

SANDBOX = "sandbox"
WORKFLOW = "workflow.cwl"
INPUTS = "inputs.yaml"
PRUN_TOOL = "prun.cwl"
MANIFEST = "manifest.yaml"
OUTPUT_LIST = "shrek-outputs.txt"

PRUN_MEMORY_QUESTION_MB = 4000  # pandaclient.PsubUtils.get_warning_for_memory

# Exit codes of the wrapper itself (the payload's own status is passed through unchanged).
EXIT_USAGE = 64
EXIT_OUTPUT = 65
EXIT_RESOURCE = 66
EXIT_SETUP = 67


@dataclass(frozen=True)
class Options:
    """What a rendering depends on beyond the tag itself."""

    first_sequence: dict[str, int] = field(default_factory=dict)  # step -> first job's number
    scope: str = ""  # output scope for prun lines, e.g. user.jdoe or group.sphenix
    upstream: dict[str, str] = field(default_factory=dict)  # "<step>.<output>" -> dataset name


@dataclass
class Rendering:
    tag: str
    steps: list[str]
    digest: str | None  # the freeze digest (None for an unfrozen tag)
    sandbox: dict[str, bytes]  # generated files that travel, by sandbox path
    resources: dict[str, Path]  # resource files that travel: sandbox path -> source file
    extra: dict[str, str]  # files beside the sandbox (prun lines, manifest)

    def manifest(self) -> list[dict[str, Any]]:
        entries = [
            {"path": p, "size": len(b), "sha256": sha256_bytes(b)} for p, b in self.sandbox.items()
        ]
        for path, source in self.resources.items():
            digest = sha256_file(source)
            entries.append({"path": path, "size": digest.size, "sha256": digest.sha256})
        return sorted(entries, key=lambda e: e["path"])

    def write(self, directory: Path) -> None:
        """Write the sandbox and the files beside it; stale files from earlier runs go."""
        sandbox = directory / SANDBOX
        if sandbox.exists():
            import shutil

            shutil.rmtree(sandbox)
        for path, data in self.sandbox.items():
            target = sandbox / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            if path.endswith(".sh"):
                target.chmod(0o755)
        for path, source in self.resources.items():
            target = sandbox / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode & 0o777)
        for path, text in self.extra.items():
            write_atomic(directory / path, text)


# -- helpers -----------------------------------------------------------------------------


def quote(value: str) -> str:
    """Quote ``value`` for bash so it is taken literally, whatever it contains."""
    return shlex.quote(value)


def parameter_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value) if isinstance(value, float) else str(value)
    if "\0" in text:
        raise ShrekError(
            "a parameter value contains a NUL character, which no shell variable can hold",
            "remove it from the value",
            ExitCode.INVALID,
        )
    return text


def output_extension(pattern: str) -> str:
    """``G4Hits_*.root`` -> ``.root``: the fixed suffix of a glob, if it has one."""
    tail = pattern.rsplit(".", 1)
    if len(tail) == 2 and not set("*?[]") & set(tail[1]) and tail[1]:
        return "." + tail[1]
    return ""


def output_file(tag: str, step: str, output: str, pattern: str) -> str:
    return f"{tag}.{step}.{output}{output_extension(pattern)}"


def cwl_id(dataset: str) -> str:
    return "ds_" + re.sub(r"[^A-Za-z0-9_]", "_", dataset)


def placeholders(step: Step) -> list[str]:
    """PanDA's placeholder for each input, in declaration order: %IN, then %IN2, %IN3, ..."""
    names, stream = [], 1
    for item in step.inputs:
        if item.secondary:
            stream += 1
            names.append(f"%IN{stream}")
        else:
            names.append("%IN")
    return names


def sequence_base(first: int) -> int:
    """PanDA's ``%RNDM:<base>`` gives job ``i`` (counted from 1) the number ``base + i``
    (pandajedi's ContentsFeeder makes the seq_number records offset + 1, offset + 2, ...)."""
    return first - 1


# -- the wrapper script -------------------------------------------------------------------


WRAPPER = (Path(__file__).resolve().parent.parent / "defaults" / "wrapper.sh.in").read_text(
    encoding="utf-8"
)  # a str.format template: {{ and }} are literal braces


def render_wrapper(registry: Registry, tag: Tag, step: Step, digest: str | None) -> str:
    setup = step.setup or registry.builds.get(tag.build, {}).get("setup") or "true"
    parameters = "".join(
        f"export {name}={quote(parameter_text(value))}\n" for name, value in step.parameters.items()
    )
    inputs = "".join(
        f'IN{n}=(); if [ $# -ge 1 ]; then [ -z "$1" ] || IFS=, read -r -a IN{n} <<< "$1"; '
        f"shift; fi  # {item.dataset}\n"
        for n, item in enumerate(step.inputs, start=1)
    )
    files: list[str] = []
    for pattern in step.resources:
        found, problem = expand(tag.directory, pattern)
        if problem:
            raise ShrekError(f"{step.file}: {problem.message}", problem.fix, ExitCode.INVALID)
        files.extend(f.name for f in found if f.name not in files)
    outputs = "".join(
        f"shrek_output {quote(o.name)} {quote(o.files)} "
        f"{quote(output_file(tag.name, step.name, o.name, o.files))}\n"
        for o in step.outputs
    )
    usage_inputs = "".join(f" IN{n}" for n in range(1, len(step.inputs) + 1))
    return WRAPPER.format(
        version=__version__,
        tag=tag.name,
        step=step.name,
        digest=digest or "(not frozen)",
        usage_inputs=usage_inputs,
        exit_usage=EXIT_USAGE,
        exit_setup=EXIT_SETUP,
        exit_resource=EXIT_RESOURCE,
        exit_output=EXIT_OUTPUT,
        setup=setup,
        setup_quoted=quote(setup),
        tag_q=quote(tag.name),
        label_q=quote(tag.label),
        build_q=quote(tag.build),
        step_q=quote(step.name),
        parameters=parameters or "# (none)\n",
        inputs=inputs or "# (none)\n",
        resources=" ".join(quote(f) for f in files),
        payload=step.payload.rstrip("\n"),
        outputs=outputs,
        output_list=OUTPUT_LIST,
    )


# -- PanDA: prun options, CWL, inputs, prun lines -------------------------------------------


def prun_options(tag: Tag, step: Step) -> list[str]:
    """The prun options for a step's requirements and outputs (no input or output dataset)."""
    req = step.requirements
    args = [
        "--outputs",
        ",".join(
            f"{o.name}:{output_file(tag.name, step.name, o.name, o.files)}" for o in step.outputs
        ),
    ]
    primary = step.primary_inputs
    if primary:
        args += ["--nFilesPerJob", str(primary[0].files_per_job)]
    else:
        args += ["--nJobs", str(step.jobs)]
    for key, option in (
        ("max_attempts", "--maxAttempt"),
        ("memory_mb", "--memory"),
        ("walltime_h", "--maxWalltime"),
        ("cpu_time_per_event_s", "--cpuTimePerEvent"),
        ("cores", "--nCore"),
        ("site", "--site"),
    ):
        if key in req:
            args += [option, str(req[key])]
    if int(req.get("memory_mb", 0)) > PRUN_MEMORY_QUESTION_MB:
        # prun asks "Are you sure with the memory requirement?" above 4000 MB per core, and
        # PanDA's server parses every step with prun's own code, where nobody can answer: -y.
        args.append("-y")
    args += ["--avoidVP", "--noBuild"]
    return args


def exec_line(step: Step, first_sequence: int) -> str:
    return " ".join(
        [f"bash {step.name}.sh", f"%RNDM:{sequence_base(first_sequence)}", *placeholders(step)]
    )


def secondary_args(step: Step, datasets: list[str]) -> list[str]:
    """``--secondaryDSs IN2:<n>:<ds>,...`` and ``--reusableSecondary IN2,...`` for a step's
    secondary streams: each job reads ``files_per_job`` files of each stream, in order, starting
    again from the first when a stream is used up (the local backend does the same)."""
    streams, names = [], []
    secondaries = [i for i in step.inputs if i.secondary]
    for number, (item, dataset) in enumerate(zip(secondaries, datasets, strict=True), start=2):
        streams.append(f"IN{number}:{item.files_per_job}:{dataset}")
        names.append(f"IN{number}")
    if not streams:
        return []
    return ["--secondaryDSs", ",".join(streams), "--reusableSecondary", ",".join(names)]


def render_cwl(
    tag: Tag, steps: list[Step], options: Options, digest: str | None
) -> tuple[str, str, list[str]]:
    """The CWL workflow, its inputs YAML, and the external datasets it reads."""
    selected = {s.name for s in steps}
    workflow_inputs: dict[str, str] = {}  # cwl id -> dataset name

    def source(item: Input) -> tuple[str, str | None]:
        """A CWL source for an input: a parent step's outDS, or a workflow input."""
        made_by = tag.producer(item)
        if made_by is None:
            key = cwl_id(item.dataset)
            workflow_inputs[key] = item.dataset
            return key, None
        if made_by[0] in selected:
            return f"{made_by[0]}/outDS", made_by[1]
        key = cwl_id(item.dataset)  # an upstream step submitted earlier: read by name
        workflow_inputs[key] = options.upstream.get(item.dataset) or default_upstream(
            options.scope, tag.name, *made_by
        )
        return key, None

    cwl_steps: dict[str, Any] = {}
    for step in steps:
        inputs: dict[str, Any] = {}
        primary = step.primary_inputs
        if primary:
            reference, kind = source(primary[0])
            inputs["opt_inDS"] = reference
            if kind:
                inputs["opt_inDsType"] = {"default": kind}
        secondaries = [i for i in step.inputs if i.secondary]
        if secondaries:
            sources = [source(i) for i in secondaries]
            inputs["opt_secondaryDSs"] = {
                "source": [s for s, _ in sources],
                "linkMerge": "merge_nested",
            }
            inputs["opt_secondaryDsTypes"] = {"default": [k for _, k in sources]}
        args = prun_options(tag, step)
        args += secondary_args(step, [f"%{{SECDS{n}}}" for n in range(1, len(secondaries) + 1)])
        first = options.first_sequence.get(step.name, 1)
        inputs["opt_exec"] = {"default": exec_line(step, first)}
        inputs["opt_args"] = {"default": " ".join(quote(a) for a in args)}
        cwl_steps[step.name] = {"run": PRUN_TOOL, "in": inputs, "out": ["outDS"]}
    consumed = {i.dataset.partition(".")[0] for s in steps for i in s.inputs}
    finals = [s.name for s in steps if s.name not in consumed] or [steps[-1].name]
    workflow = {
        "cwlVersion": "v1.0",
        "class": "Workflow",
        "doc": f"SHREK production {tag.name} (freeze {digest or 'none'}); generated by SHREK "
        f"{__version__}",
        "requirements": {"MultipleInputFeatureRequirement": {}},
        "inputs": {key: "string" for key in sorted(workflow_inputs)},
        "outputs": {
            f"{name}_outDS": {"type": "string", "outputSource": f"{name}/outDS"} for name in finals
        },
        "steps": cwl_steps,
    }
    header = f"# Generated by SHREK {__version__} for {tag.name}: PanDA's CWL dialect (pchain).\n"
    inputs_yaml = dump_yaml(
        {k: workflow_inputs[k] for k in sorted(workflow_inputs)},
        "# Workflow inputs of workflow.cwl: the external datasets read.\n",
    )
    return header + dump_yaml(workflow, width=10_000), inputs_yaml, sorted(workflow_inputs.values())


def default_upstream(scope: str, tag: str, step: str, output: str) -> str:
    """Where a step's output is read from when it was submitted on its own with prun."""
    return f"{scope}.{tag}.{step}_{output}/"


PRUN_CWL = {
    "cwlVersion": "v1.0",
    "class": "CommandLineTool",
    "doc": "Validation-only description of PanDA's prun, so that cwltool --validate accepts "
    "workflow.cwl. PanDA maps any step whose run is prun.cwl to prun by its base name "
    "and never executes this file.",
    "baseCommand": "prun",
    "inputs": {
        "opt_exec": {"type": "string"},
        "opt_args": {"type": "string?"},
        "opt_inDS": {"type": "string?"},
        "opt_inDsType": {"type": "string?"},
        "opt_secondaryDSs": {"type": ["null", {"type": "array", "items": ["null", "string"]}]},
        "opt_secondaryDsTypes": {"type": ["null", {"type": "array", "items": ["null", "string"]}]},
        "opt_containerImage": {"type": "string?"},
        "opt_useAthenaPackages": {"type": "boolean?"},
    },
    "outputs": {"outDS": {"type": "string"}},
}


def prun_line(registry: Registry, tag: Tag, step: Step, options: Options) -> str:
    """The equivalent ``prun`` command for submitting this one step on its own."""
    scope = options.scope
    args = [
        "prun",
        "--exec",
        exec_line(step, options.first_sequence.get(step.name, 1)),
        "--outDS",
        f"{scope}.{tag.name}.{step.name}",
    ]

    def name(item: Input) -> str:
        made_by = tag.producer(item)
        if made_by is None:
            return item.dataset
        return options.upstream.get(item.dataset) or default_upstream(scope, tag.name, *made_by)

    primary = step.primary_inputs
    if primary:
        args += ["--inDS", name(primary[0])]
    args += prun_options(tag, step)
    args += secondary_args(step, [name(i) for i in step.inputs if i.secondary])
    panda = registry.settings.get("panda", {})
    for key, option in (
        ("vo", "--vo"),
        ("prod_source_label", "--prodSourceLabel"),
        ("working_group", "--workingGroup"),
    ):
        if panda.get(key):
            args += [option, str(panda[key])]
    return " ".join(quote(a) for a in args) + "\n"


def default_scope(registry: Registry) -> str:
    panda = registry.settings.get("panda", {})
    if panda.get("scope"):
        return str(panda["scope"])
    return f"user.{panda.get('nickname') or 'NICKNAME'}"


# -- the whole rendering -----------------------------------------------------------------------


def render(
    registry: Registry,
    tag: Tag,
    step_names: list[str] | None = None,
    options: Options | None = None,
    digest: str | None = None,
) -> Rendering:
    """Render ``step_names`` of ``tag`` (all steps by default, in dependency order)."""
    options = options or Options()
    if not options.scope:
        options = Options(options.first_sequence, default_scope(registry), options.upstream)
    order = tag.order()
    unknown = [s for s in step_names or [] if s not in tag.steps]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], order, n=1)
        raise ShrekError(
            f"tag {tag.name} has no step '{unknown[0]}'",
            (f"did you mean '{close[0]}'? " if close else "") + "steps: " + ", ".join(order),
            ExitCode.NOT_FOUND,
        )
    chosen = [s for s in order if not step_names or s in step_names]
    steps = [tag.steps[s] for s in chosen]
    sandbox: dict[str, bytes] = {}
    resources: dict[str, Path] = {}
    extra: dict[str, str] = {}
    for step in steps:
        sandbox[f"{step.name}.sh"] = render_wrapper(registry, tag, step, digest).encode()
        for pattern in step.resources:
            files, _ = expand(tag.directory, pattern)
            resources.update((f.name, f.path) for f in files)
        extra[f"{step.name}.prun"] = prun_line(registry, tag, step, options)
    workflow, inputs_yaml, _ = render_cwl(tag, steps, options, digest)
    sandbox[WORKFLOW] = workflow.encode()
    sandbox[INPUTS] = inputs_yaml.encode()
    sandbox[PRUN_TOOL] = dump_yaml(PRUN_CWL, "# Validation-only: see doc.\n").encode()
    clash = sorted(set(resources) & set(sandbox))
    if clash:
        raise ShrekError(
            f"resource {clash[0]} has the name of a file SHREK generates",
            "rename the resource",
            ExitCode.INVALID,
        )
    rendering = Rendering(tag.name, chosen, digest, sandbox, dict(sorted(resources.items())), extra)
    entries = rendering.manifest()
    extra[MANIFEST] = dump_yaml(
        {
            "tag": tag.name,
            "freeze_digest": digest,
            "steps": chosen,
            "first_sequence": {s: options.first_sequence.get(s, 1) for s in chosen},
            "manifest_digest": "sha256:"
            + sha256_bytes("".join(f"{e['sha256']}  {e['path']}\n" for e in entries).encode()),
            "files": entries,
        },
        "# Generated by SHREK: exactly the files in sandbox/, which is all that travels.\n",
    )
    return rendering
