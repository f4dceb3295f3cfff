"""PanDA's part of a rendering: the workflow in its CWL dialect, prun lines, ``%RNDM``.

Shaped by what PanDA's server does with them (see ``shared/notes``):

- every dependency, primary *and secondary*, is a ``<step>/outDS`` reference in the CWL, so
  PanDA's server sees every edge;
- ``%{DSn}`` is never used in ``opt_args`` (the server leaves it literal there); secondary
  streams use ``--secondaryDSs INk:<n>:%{SECDSj}``; no obsolete options;
- the output scope of a prun line is ``user.<nickname>`` (or the registry's ``panda.scope``).
"""

from __future__ import annotations

import re
from typing import Any

from shrek import __version__
from shrek.core.model import Input, Step, Tag
from shrek.core.registry import Registry
from shrek.core.render import Options, output_file, quote
from shrek.core.yamlio import dump_yaml

WORKFLOW = "workflow.cwl"
INPUTS = "inputs.yaml"
PRUN_TOOL = "prun.cwl"

PRUN_MEMORY_QUESTION_MB = 4000  # pandaclient.PsubUtils.get_warning_for_memory


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


def prun_options(tag: Tag, step: Step, default_site: str = "") -> list[str]:
    """The prun options for a step's requirements and outputs (no input or output dataset);
    ``default_site`` (shrek.yaml's panda.site) where the step names no site of its own."""
    req = dict(step.requirements)
    if default_site and "site" not in req:
        req["site"] = default_site
    args = [
        "--outputs",
        ",".join(
            f"{o.name}:{output_file(tag.name, step.name, o.name, o.files)}" for o in step.outputs
        ),
    ]
    primary = step.primary_inputs
    if primary:
        args += ["--nFilesPerJob", str(primary[0].files_per_job)]
        if primary[0].max_files is not None:
            args += ["--nFiles", str(primary[0].max_files)]
        if primary[0].match is not None:
            args += ["--match", primary[0].match]  # prun makes it the task's file filter
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
    if req.get("force_staged"):
        args.append("--forceStaged")
    args += ["--avoidVP", "--noBuild"]
    return args


def exec_line(step: Step, first_sequence: int) -> str:
    return " ".join(
        [f"bash {step.name}.sh", f"%RNDM:{sequence_base(first_sequence)}", *placeholders(step)]
    )


def secondary_args(step: Step, datasets: list[str]) -> list[str]:
    """``--secondaryDSs IN2:<n>:<ds>,...`` and ``--reusableSecondary IN2,...`` for a step's
    secondary streams: each job reads ``files_per_job`` files of each stream, in order; a
    reusable stream (the default) starts again from its first file when used up, another is
    read once (the local backend does the same)."""
    streams, names = [], []
    secondaries = [i for i in step.inputs if i.secondary]
    for number, (item, dataset) in enumerate(zip(secondaries, datasets, strict=True), start=2):
        fields = [f"IN{number}", str(item.files_per_job), dataset]
        if item.match is not None:  # prun passes it on unconverted: give the form --match gets
            fields.append(item.match.replace(".", r"\.").replace("*", ".*"))
        # prun splits each stream at ':' unless it holds a '#': a scope:name dataset needs
        # '#', and so does a placeholder, which panda-server may fill in with one
        split = "#" if ":" in dataset or dataset.startswith("%{") else ":"
        streams.append(split.join(fields))
        if item.reusable:
            names.append(f"IN{number}")
    if not streams:
        return []
    reuse = ["--reusableSecondary", ",".join(names)] if names else []
    return ["--secondaryDSs", ",".join(streams), *reuse]


def step_exec_and_args(tag: Tag, step: Step, options: Options) -> tuple[str, str]:
    """A step's ``opt_exec`` and ``opt_args`` as the CWL carries them."""
    secondaries = sum(1 for i in step.inputs if i.secondary)
    args = prun_options(tag, step, options.default_site)
    args += secondary_args(step, [f"%{{SECDS{n}}}" for n in range(1, secondaries + 1)])
    first = options.first_sequence.get(step.name, 1)
    return exec_line(step, first), " ".join(quote(a) for a in args)


def render_cwl(
    tag: Tag, steps: list[Step], options: Options, digest: str | None
) -> tuple[str, str, list[str]]:
    """The CWL workflow, its inputs YAML, and the external datasets it reads.

    One function (about 60 lines) because the workflow's inputs are collected while its steps
    are written: ``source`` adds each external dataset as it is met.
    """
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
        exec_, args = step_exec_and_args(tag, step, options)
        inputs["opt_exec"] = {"default": exec_}
        inputs["opt_args"] = {"default": args}
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
    args += prun_options(tag, step, options.default_site)
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


def workflow_files(
    tag: Tag, steps: list[Step], options: Options, digest: str | None
) -> dict[str, bytes]:
    """The sandbox files pchain reads: the CWL workflow, its inputs and the prun tool."""
    workflow, inputs_yaml, _ = render_cwl(tag, steps, options, digest)
    return {
        WORKFLOW: workflow.encode(),
        INPUTS: inputs_yaml.encode(),
        PRUN_TOOL: dump_yaml(PRUN_CWL, "# Validation-only: see doc.\n").encode(),
    }


def step_commands(tag: Tag, step: Step, options: Options) -> dict[str, str]:
    """What a record keeps of one step's PanDA commands: ``opt_exec``, ``opt_args``, prun."""
    exec_, args = step_exec_and_args(tag, step, options)
    return {"exec": exec_, "args": args}
