"""Translating the 2022 prototype's job-definition files into SHREK steps (``shrek import``).

One 2022 file is one step (``Parameters``, ``InputDataSets``, ``OutputDataSets``,
``Resources``, ``JobCommands``); a file without ``Parameters`` declares workflow inputs. The
format is described in ``shared/notes/shrek2022.md``. Everything that maps is mapped; what
cannot be carried over faithfully becomes a :class:`Note` naming the file and line, for the
tag's ``IMPORT.md``. Nothing here touches the file system beyond what it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shrek.core.bashvars import assigned_variables, positional_parameters, used_variables
from shrek.core.model import matches
from shrek.core.yamlio import Document
from shrek.errors import ExitCode, ShrekError

TOP_LEVEL = {"Parameters", "InputDataSets", "OutputDataSets", "Resources", "JobCommands"}
IGNORED_TOP_LEVEL = {"LocalInit", "LocalFinalize", "SecondaryDataSets"}
# Parameters keys that were PanDA options -> where they go in a SHREK step.
REQUIREMENTS = {
    "maxAttempt": "max_attempts",
    "memory": "memory_mb",
    "maxWalltime": "walltime_h",
    "cpuTimePerEvent": "cpu_time_per_event_s",
    "site": "site",
}
NOT_CARRIED = ("nSkipFiles", "nGBPerJob", "nEventsPerFile")
PANDA_PRIMARY_DEFAULT = 50  # files per job PanDA gives a primary input without nFilesPerJob
PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
SETUP_LINE = re.compile(r"^\s*(?:source|\.)\s+\S*sphenix_setup\.sh\b.*$")
SITE_PATH = re.compile(r"(?<![\w.])/(?:sphenix|direct|gpfs)/\S*")
SITE_COPY = re.compile(r"^\s*(?:cp|mv|rsync|mkdir)\b.*\s/(?:sphenix|direct|gpfs)/")
# ">& /sphenix/u/x/log.txt", "2> /gpfs/...": output sent to a site's disk
SITE_REDIRECT = re.compile(
    r"(?P<op>(?:[12]|&)?>>?&?)\s*(?P<path>/(?:sphenix|direct|gpfs)/[^\s;|&<>]*)"
)
# 2022's job script exported these; SHREK's wrapper exports its own equivalents
TAG_VARIABLE = re.compile(r"\$\{shrek_tag\}|\$shrek_tag\b")
UNIQUE_ID = re.compile(r"\$\{uniqueId\}|\$uniqueId\b")
ARITHMETIC = re.compile(r"\(\(.*?\)\)")  # $(( uniqueId % 18 )): the name, without a $
BUILD_VARIABLE = re.compile(r"\$\{build\}|\$build\b")


@dataclass(frozen=True)
class Note:
    """Something the import could not carry over faithfully, where it stands, and why."""

    file: str
    line: int
    what: str

    def __str__(self) -> str:  # line 0: about the import as a whole (e.g. the site)
        return f"{self.file}:{self.line}: {self.what}" if self.line else f"{self.file}: {self.what}"


@dataclass
class Converted:
    """The steps of one 2022 workflow in SHREK's format, and what was left behind."""

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> step document
    resources: dict[str, list[tuple[str, str, int, int]]] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    builds: dict[str, Note] = field(default_factory=dict)  # build -> where a step names it
    unresolved: list[Note] = field(default_factory=list)  # inputs that name nothing known


def kebab(name: str) -> str:
    """``Pythia8CharmSimulation`` -> ``pythia8-charm-simulation``; ``make_signal`` ->
    ``make-signal``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", str(name))
    return re.sub(r"[^a-z0-9]+", "-", spaced.lower()).strip("-")


def convert(documents: list[Document], provided: frozenset[str] = frozenset()) -> Converted:
    """Translate the 2022 files (already loaded, with positions) into SHREK steps;
    ``provided``: the variables a SHREK job has without parameters (its own, the build's)."""
    result = Converted()
    step_docs = [d for d in documents if isinstance(d.data, dict) and "Parameters" in d.data]
    inputs_only = [d for d in documents if isinstance(d.data, dict) and "Parameters" not in d.data]
    names = _step_names(step_docs)
    external: dict[str, str] = {}
    for doc in inputs_only:
        for n, entry in enumerate(doc.data.get("InputDataSets") or []):
            if isinstance(entry, dict) and entry.get("name") and entry.get("datasets"):
                external[str(entry["name"])] = str(entry["datasets"]).strip()
            else:
                result.notes.append(_note(doc, ["InputDataSets", n], "an input without a dataset"))
    # 2022 linked steps by name: an input 'name' equal to an output 'name' of another file
    produced: dict[str, str] = {}  # 2022 output name -> the SHREK dataset
    written: dict[str, str] = {}  # 2022 output name -> the files SHREK declares for it
    for d in step_docs:
        for entry in d.data.get("OutputDataSets") or []:
            if isinstance(entry, dict) and entry.get("name"):
                key = str(entry["name"])
                produced[key] = f"{names[d.file]}.{_declared_output(key)}"
                written[key] = (_file_patterns(entry) or ["*"])[0]
    for doc in step_docs:
        name = names[doc.file]
        result.steps[name] = _step(doc, name, produced, written, external, result)
        _settle_unset(doc, result.steps[name], provided, result)
    return result


def _settle_unset(
    doc: Document, step: dict[str, Any], provided: frozenset[str], result: Converted
) -> None:
    """A variable the payload reads that its file never sets. 2022's job script exported the
    input names (``IN1_name``, ``IN1_task``: kept as parameters with 2022's values) and every
    ``--NAME=VALUE`` of 2022's command line (``${SLEEP_MIN}``): those become parameters with
    an empty value — what the variable held when the option was not given — and the note says
    where to set each one."""
    parameters = step.setdefault("parameters", {})
    command = step["command"]
    assigned = assigned_variables(command)
    inputs = [
        str(entry["name"])
        for entry in doc.data.get("InputDataSets") or []
        if isinstance(entry, dict) and entry.get("name")
    ]
    for variable in used_variables(command):
        if (
            variable in parameters
            or variable in provided
            or INPUT_ARRAY.fullmatch(variable)
            or variable in assigned
        ):
            continue
        line = _first_use(doc, variable)
        exported = INPUT_EXPORT.fullmatch(variable)
        if exported and int(exported[1]) <= len(inputs):
            name = inputs[int(exported[1]) - 1]
            value = name if exported[2] == "name" else name.replace("/outDS", "")
            parameters[variable] = value
            result.notes.append(
                Note(
                    doc.file,
                    line,
                    f"${{{variable}}} (2022 exported its input's {exported[2]}): kept as the "
                    f"parameter {variable}: {value}",
                )
            )
            continue
        parameters[variable] = ""
        result.notes.append(
            Note(
                doc.file,
                line,
                f"${{{variable}}} is not set in 2022's file (2022 filled such variables in from "
                f"its command line, --{variable}=VALUE, and left them empty otherwise): kept as "
                f"the parameter {variable}, empty; set its value in job/{step['name']}.yaml",
            )
        )
    if not parameters:
        del step["parameters"]


INPUT_EXPORT = re.compile(r"IN([0-9]+)_(name|task)")
INPUT_ARRAY = re.compile(r"IN[0-9]+")


def _first_use(doc: Document, variable: str) -> int:
    """The line of the 2022 file where ``variable`` is first read (its payload otherwise)."""
    use = re.compile(rf"\$\{{?{re.escape(variable)}\b")
    for key in ("Initialize", "JobCommands", "Finalize"):
        text = str(doc.data.get(key) or "")
        for n, line in enumerate(text.splitlines()):
            if use.search(line):
                return doc.where([key])[0] + 1 + n
    return doc.where(["JobCommands"])[0]


def _step_names(step_docs: list[Document]) -> dict[str, str]:
    """File -> SHREK step name; two files whose names collide are refused."""
    names: dict[str, str] = {}
    seen: dict[str, str] = {}
    for doc in step_docs:
        original = (doc.data.get("Parameters") or {}).get("name")
        if not original:
            line, _ = doc.where(["Parameters"])
            raise ShrekError(
                f"{doc.file}:{line}: the step has no Parameters.name",
                "give every job file a Parameters.name",
                ExitCode.INVALID,
            )
        name = kebab(original)
        if name in seen:
            raise ShrekError(
                f"{doc.file}: step {original!r} becomes '{name}', as {seen[name]} does",
                "rename one of the two steps (Parameters.name)",
                ExitCode.CONFLICT,
            )
        seen[name] = doc.file
        names[doc.file] = name
    return names


def _note(doc: Document, path: list[object], what: str) -> Note:
    return Note(doc.file, doc.where(path)[0], what)


def _step(
    doc: Document,
    name: str,
    produced: dict[str, str],
    written: dict[str, str],
    external: dict[str, str],
    result: Converted,
) -> dict[str, Any]:
    data = doc.data
    _note_unused_sections(doc, result)
    params = dict(data.get("Parameters") or {})
    _refuse_pfn_list(doc, params)
    step: dict[str, Any] = {
        "name": name,
        "description": str(params.pop("comment", "") or f"imported from {doc.file}").strip(),
    }
    params.pop("name", None)
    build = params.pop("build", None)
    if build is not None:
        result.builds.setdefault(str(build), _note(doc, ["Parameters", "build"], str(build)))
    requirements: dict[str, Any] = {"max_attempts": 1}  # without maxAttempt 2022 forced 1
    jobs = _job_count(doc, params.pop("nJobs", None), result)
    files_per_job = params.pop("nFilesPerJob", None)
    max_files = params.pop("nFiles", None)
    parameters = _parameters(doc, params, requirements, result)
    if parameters:
        step["parameters"] = parameters
    inputs = _inputs(doc, produced, written, external, files_per_job, max_files, result)
    if inputs:
        step["inputs"] = inputs
    elif jobs is not None:
        step["jobs"] = int(jobs)
    if jobs is not None and inputs:
        result.notes.append(
            _note(
                doc,
                ["Parameters", "nJobs"],
                "nJobs with an input: the input decides the number of jobs in SHREK; left out",
            )
        )
    if not inputs and jobs is None:
        step["jobs"] = 1
        result.notes.append(_note(doc, ["Parameters"], "no nJobs and no input: one job"))
    step["outputs"] = _outputs(doc, name, result)
    result.resources[name] = _resource_patterns(doc, result)
    step["command"] = _command(doc, result, len(inputs))
    if _uses(step["command"], "name") and "name" not in parameters:
        # 2022 exported every Parameters key, 'name' too: its value, the 2022 step name, stays
        parameters["name"] = str(data["Parameters"]["name"])
        step["parameters"] = parameters
        result.notes.append(
            _note(
                doc,
                ["Parameters", "name"],
                f"${{name}} (2022 exported the step's name): kept as the parameter "
                f"name: {parameters['name']}",
            )
        )
    if inputs:
        requirements["force_staged"] = True  # every 2022 step with inputs ran --forceStaged
    step["requirements"] = requirements
    return step


def _note_unused_sections(doc: Document, result: Converted) -> None:
    for key in doc.data:
        if key in IGNORED_TOP_LEVEL:
            result.notes.append(_note(doc, [key], f"'{key}' was never used in 2022: left out"))
        elif key not in TOP_LEVEL and key not in ("Initialize", "Finalize"):
            result.notes.append(_note(doc, [key], f"unknown section '{key}': left out"))


def _refuse_pfn_list(doc: Document, params: dict[str, Any]) -> None:
    if "pfnList" in params:
        line, _ = doc.where(["Parameters", "pfnList"])
        raise ShrekError(
            f"{doc.file}:{line}: pfnList (a list of physical files that 2022's job script read "
            "as IN1) cannot be carried over: SHREK reads every input from a dataset",
            "register the listed files as a dataset (shrek dataset add NAME FILE...), name it "
            "under InputDataSets instead of pfnList, then import again",
            ExitCode.INVALID,
        )


def _job_count(doc: Document, jobs: Any, result: Converted) -> Any:
    """``nJobs`` as written, or 1 with a note where 2022 filled it in at submission."""
    if jobs is not None and not (isinstance(jobs, int) or str(jobs).strip().isdigit()):
        result.notes.append(  # e.g. 'top1.njobs': a value 2022 filled in at submission
            _note(
                doc,
                ["Parameters", "nJobs"],
                f"nJobs: {jobs} is not a number (2022 filled it in at submission): one job "
                "is written; set 'jobs' in the step file",
            )
        )
        return 1
    return jobs


def _parameters(
    doc: Document, params: dict[str, Any], requirements: dict[str, Any], result: Converted
) -> dict[str, Any]:
    """The step's parameters from 2022's remaining ``Parameters``; PanDA's own keys go into
    ``requirements``, what SHREK has no place for is noted and left out."""
    parameters: dict[str, Any] = {}
    for key, value in params.items():
        if key == "maxAttempt" and value is None:  # an empty 'maxAttempt:' was 1 in 2022
            result.notes.append(
                _note(doc, ["Parameters", key], "maxAttempt is empty: 1, as 2022 treated it")
            )
        elif key in REQUIREMENTS and value is None:
            result.notes.append(
                _note(doc, ["Parameters", key], f"{key} is empty: left out (PanDA's default)")
            )
        elif key in REQUIREMENTS:
            requirements[REQUIREMENTS[key]] = value
        elif key == "when":
            result.notes.append(
                _note(
                    doc,
                    ["Parameters", key],
                    f"'when: {value}' (a CWL condition): SHREK submits every step; left out",
                )
            )
        elif key in NOT_CARRIED:
            result.notes.append(
                _note(
                    doc,
                    ["Parameters", key],
                    f"PanDA option {key}={value}: SHREK has no setting for it; left out",
                )
            )
        elif not PARAMETER_NAME.fullmatch(str(key)) or isinstance(value, (list, dict)):
            result.notes.append(
                _note(
                    doc,
                    ["Parameters", key],
                    f"parameter {key!r} is not a name with a plain value: left out",
                )
            )
        elif value is None:
            parameters[key] = ""
        else:
            parameters[key] = value
    return parameters


# Complex by design: one branch per 2022 input form.
def _inputs(  # noqa: C901
    doc: Document,
    produced: dict[str, str],
    written: dict[str, str],
    external: dict[str, str],
    files_per_job: Any,
    max_files: Any,
    result: Converted,
) -> list[dict[str, Any]]:
    inputs = []
    for n, entry in enumerate(doc.data.get("InputDataSets") or []):
        if not isinstance(entry, dict) or not entry.get("name"):
            result.notes.append(
                _note(doc, ["InputDataSets", n], "an input without a name: left out")
            )
            continue
        reference = str(entry["name"])
        if reference in produced:  # the exact output name of another step: an edge
            dataset = produced[reference]
        elif entry.get("datasets"):
            dataset = _external(doc, ["InputDataSets", n, "datasets"], entry["datasets"], result)
        elif reference in external:
            dataset = _external(doc, ["InputDataSets", n, "name"], external[reference], result)
        else:
            dataset = reference
            result.unresolved.append(
                _note(
                    doc,
                    ["InputDataSets", n, "name"],
                    f"input '{reference}' names no output of another step and no dataset of "
                    "an input file: write the dataset it reads into the step file",
                )
            )
        item: dict[str, Any] = {"dataset": dataset}
        per_job = entry.get("nFilesPerJob")
        if n == 0:
            per_job = per_job or files_per_job
            if per_job is None:
                per_job = PANDA_PRIMARY_DEFAULT
                result.notes.append(
                    _note(
                        doc,
                        ["InputDataSets", n],
                        f"no nFilesPerJob for the primary input: "
                        f"PanDA's default of {PANDA_PRIMARY_DEFAULT} files per job is written out",
                    )
                )
            limit = entry.get("nFiles", max_files)
            if limit is not None:
                item["max_files"] = int(limit)
        else:
            item["secondary"] = True
            item["reusable"] = bool(entry.get("reusable", False))
            if entry.get("nFiles") is not None:
                result.notes.append(
                    _note(
                        doc,
                        ["InputDataSets", n, "nFiles"],
                        "nFiles on a secondary stream: "
                        "SHREK limits the primary input only; left out",
                    )
                )
        item["files_per_job"] = int(per_job or 1)
        if entry.get("match") and dataset != reference:  # unresolved: its finding says it
            made = reference in produced
            _carry_match(doc, n, entry, item, written.get(reference) if made else None, result)
        for key in entry:
            if key not in (
                "name",
                "datasets",
                "nFilesPerJob",
                "nFiles",
                "reusable",
                "match",
                "comment",
            ):
                result.notes.append(
                    _note(doc, ["InputDataSets", n, key], f"input option '{key}': left out")
                )
        inputs.append(item)
    return inputs


PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]*")  # e.g. CHARM_INPUT, filled in at submission


def _carry_match(
    doc: Document,
    n: int,
    entry: dict[str, Any],
    item: dict[str, Any],
    declared: str | None,
    result: Converted,
) -> None:
    """2022's file filter on an input (``match``, PanDA's --match). On an external dataset it
    is kept as the input's ``match``: the same files are read. On another step's output it is
    dropped when every file that step writes passes it (the output's files are named by SHREK
    there, so the 2022 name would match none); a filter that would leave some of them out
    stops the import, since dropping it would change what runs."""
    match = str(entry["match"])
    place = ["InputDataSets", n, "match"]
    if declared is None:
        if not MATCH.fullmatch(match):
            line, _ = doc.where(place)
            raise ShrekError(
                f"{doc.file}:{line}: the file filter {match} of input {entry['name']} is not "
                "a glob SHREK can pass on (letters, digits, '_', '.', '+', '-', '*')",
                "register the files it matches as a dataset of their own (shrek dataset add "
                "NAME FILE...), name that dataset under 'datasets' and remove 'match', then "
                "import again",
                ExitCode.INVALID,
            )
        item["match"] = match
        result.notes.append(
            _note(doc, place, f"file filter match: {match}: kept, as the input's match")
        )
        return
    if matches(match, declared):  # PanDA's rule: the glob anywhere in the name
        result.notes.append(
            _note(
                doc,
                place,
                f"file filter match: {match}: every file its step writes ({declared}) "
                "matches it, the same files without it; left out",
            )
        )
        return
    line, _ = doc.where(place)
    raise ShrekError(
        f"{doc.file}:{line}: input {entry['name']} reads only the files of its step matching "
        f"{match}, and that step writes {declared}: SHREK names those files itself, so the "
        "filter cannot be carried over",
        "remove 'match' if the step's files should all be read, or split the step's output "
        "in two, then import again",
        ExitCode.INVALID,
    )


MATCH = re.compile(r"[A-Za-z0-9_.*+-]+")  # what the step schema's 'match' accepts


def _external(doc: Document, path: list[object], value: object, result: Converted) -> str:
    """An external dataset a 2022 input named; a token 2022's command line filled in is
    kept by name, with a note saying what to set."""
    dataset = str(value).strip()
    if PLACEHOLDER.fullmatch(dataset):
        result.notes.append(
            _note(
                doc,
                path,
                f"{dataset} was filled in on 2022's command line at submission: the step reads "
                f"a dataset named {dataset}; write the real dataset into the step file (or "
                f"register one by that name: shrek dataset add {dataset} FILE...)",
            )
        )
    return dataset


def _outputs(doc: Document, step: str, result: Converted) -> list[dict[str, str]]:
    outputs = []
    for n, entry in enumerate(doc.data.get("OutputDataSets") or []):
        if not isinstance(entry, dict):
            continue
        output = _declared_output(str(entry.get("name", "out")))
        for k, line in enumerate(entry.get("filelist") or []):
            if str(line).startswith("regex|"):
                result.notes.append(
                    _note(
                        doc,
                        ["OutputDataSets", n, "filelist", k],
                        f"output regex "
                        f"{str(line).removeprefix('regex|')}: SHREK outputs are globs; check the "
                        "glob written",
                    )
                )
        patterns = _file_patterns(entry)
        if not patterns:
            result.notes.append(_note(doc, ["OutputDataSets", n], "an output without files: '*'"))
            patterns = ["*"]
        for extra in patterns[1:]:
            result.notes.append(
                _note(
                    doc,
                    ["OutputDataSets", n, "filelist"],
                    f"more than one file ({extra}) in "
                    "one output: SHREK outputs one file per job; only the first is declared",
                )
            )
        outputs.append({"name": output, "files": patterns[0]})
    if not outputs:
        result.notes.append(_note(doc, [], f"step {step} declares no output: 'out: *' written"))
        outputs = [{"name": "out", "files": "*"}]
    return outputs


def _file_patterns(entry: dict[str, Any]) -> list[str]:
    """The files a 2022 output lists (``required:NAME``, ``regex|RE`` as a glob), in order."""
    patterns = []
    for line in entry.get("filelist") or []:
        text = str(line)
        if text.startswith("required:"):
            patterns.append(text.removeprefix("required:").strip())
        elif text.startswith("regex|"):
            patterns.append(_glob_of(text.removeprefix("regex|")))
    return patterns


def _declared_output(name: str) -> str:
    """A 2022 output's name in SHREK: ``make_signal/outDS`` -> ``outds``; a name without a
    step part (``signal_hits``) -> ``signal-hits``."""
    _, slash, rest = name.partition("/")
    return _output_name(rest if slash else name)


def _output_name(text: str) -> str:
    """``outDS`` -> ``outds``: an output's name, lower-case (no word splitting: 'outDS' is
    one word)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "out"


def _glob_of(regex: str) -> str:
    return re.sub(r"\.\*|\.\+", "*", regex).replace("\\.", ".").strip("^$")


def _resource_patterns(doc: Document, result: Converted) -> list[tuple[str, str, int, int]]:
    """(pattern, file, line, column) of each ``Resources`` entry; the import resolves them."""
    patterns = []
    for n, entry in enumerate(doc.data.get("Resources") or []):
        if isinstance(entry, dict) and entry.get("file"):
            patterns.append((str(entry["file"]), doc.file, *doc.where(["Resources", n, "file"])))
        else:
            result.notes.append(
                _note(doc, ["Resources", n], "a resource other than 'file:': left out")
            )
    return patterns


def _uses(script: str, variable: str) -> bool:
    return variable in used_variables(script) and variable not in assigned_variables(script)


def _command(doc: Document, result: Converted, streams: int) -> str:
    """The payload: Initialize + JobCommands + Finalize, without the build's set-up line, with
    2022's job variables read from SHREK's (``uniqueId`` and ``$1`` -> ``${SHREK_SEQ}``, ``$2``…
    -> the input files, ``build``, ``shrek_tag``); output redirected to a site's disk written
    into the job directory instead, copies to a site's disk commented out, other site paths
    noted — each change a note at the line of the 2022 file it was made in."""
    lines: list[tuple[str, int]] = []  # (text, line of the 2022 file)
    for key in ("Initialize", "JobCommands", "Finalize"):
        text = str(doc.data.get(key) or "")
        if text.strip():
            first = doc.where([key])[0] + 1
            lines += [(line, first + n) for n, line in enumerate(text.splitlines())]
    out: list[tuple[str, int]] = []
    for line, where in lines:
        out += _payload_line(doc, line, where, result)
    script = "\n".join(text for text, _ in out).strip("\n") + "\n"
    blank = next((n for n, (text, _) in enumerate(out) if text), len(out))  # stripped above
    origin = [where for _, where in out][blank:] or [doc.where(["JobCommands"])[0]]
    script = _map_arguments(doc, script, origin, streams, result)
    call = ADD_METADATA_CALL.search(script)
    if call:
        at = origin[min(script.count("\n", 0, call.start()), len(origin) - 1)]
        result.notes.append(
            Note(
                doc.file,
                at,
                "addmetadata (a function of 2022's job script) is defined first in the payload: "
                "it prints each key and value to the job's log, as 2022's did; SHREK sends no "
                "job metadata to PanDA",
            )
        )
        script = ADD_METADATA + script
    # 2022's job script ran without -e, -u or pipefail: a failing 'ls' of a site directory
    # went on to the next line. SHREK runs payloads with 'set -euo pipefail'; the imported
    # payload asks for 2022's rules back, so it means what it meant.
    result.notes.append(
        _note(
            doc,
            ["JobCommands"],
            "the payload runs as in 2022, without -e, -u or pipefail ('set +euo pipefail' "
            "added first): remove that line to stop at the first failing command",
        )
    )
    return LENIENT + script


ADD_METADATA_CALL = re.compile(r"(?m)^[ \t]*addmetadata\b")
ADD_METADATA = (
    "addmetadata() {  # shrek import: 2022's job script defined it\n"
    '  echo "[ $(date) ] ${SHREK_TAG} ${SHREK_STEP} ${SHREK_SEQ}: \\"$1\\" : \\"$2\\""\n'
    "}\n"
)
LENIENT = "set +euo pipefail  # shrek import: 2022 ran job scripts without -e, -u, pipefail\n"


def _payload_line(doc: Document, line: str, where: int, result: Converted) -> list[tuple[str, int]]:
    """One line of the 2022 payload as SHREK runs it (nothing, itself, or a rewrite)."""
    if SETUP_LINE.match(line):
        result.notes.append(
            Note(
                doc.file,
                where,
                "the build's set-up line is removed: SHREK runs the build's set-up itself",
            )
        )
        return []
    live = not line.lstrip().startswith("#")
    mapped = BUILD_VARIABLE.sub("${SHREK_BUILD}", UNIQUE_ID.sub("${SHREK_SEQ}", line))
    mapped = ARITHMETIC.sub(lambda m: re.sub(r"(?<![\w$])uniqueId\b", "SHREK_SEQ", m[0]), mapped)
    if live and mapped != line:
        said = [
            what
            for what, pattern in (
                ("uniqueId (2022's job number) reads SHREK_SEQ", "SHREK_SEQ"),
                ("${build} reads ${SHREK_BUILD}", "SHREK_BUILD"),
            )
            if pattern in mapped and pattern not in line
        ]
        result.notes.append(Note(doc.file, where, "; ".join(said)))
    line = mapped
    if live and SITE_COPY.search(line):
        result.notes.append(
            Note(
                doc.file,
                where,
                f"a write to a site's disk is commented out (SHREK keeps the "
                f"job's outputs as datasets): {line.strip()}",
            )
        )
        return [(f"# shrek import: {line}", where)]
    if live and SITE_REDIRECT.search(line):
        rewritten = SITE_REDIRECT.sub(lambda m: f"{m['op']} {m['path'].rsplit('/', 1)[-1]}", line)
        result.notes.append(
            Note(
                doc.file,
                where,
                "output sent to a site's disk is written into the job "
                f"directory instead: {line.strip()} -> {rewritten.strip()}",
            )
        )
        line = rewritten
    site_path = SITE_PATH.search(line) if live else None
    if site_path:
        result.notes.append(
            Note(
                doc.file,
                where,
                f"a site path ({site_path.group()}): it exists only at that site",
            )
        )
    if live and UNQUOTED_ARRAY.search(line):
        quoted = _quote_arrays(line)
        if quoted != line:
            result.notes.append(
                Note(
                    doc.file,
                    where,
                    f"input arrays quoted (the same files, no re-splitting: "
                    f"ShellCheck SC2068): {line.strip()} -> {quoted.strip()}",
                )
            )
            line = quoted
    if TAG_VARIABLE.search(line):
        line = TAG_VARIABLE.sub("${SHREK_TAG}", line)
    if live and TAG_VARIABLE.search(mapped):
        result.notes.append(
            Note(
                doc.file,
                where,
                "${shrek_tag} (2022's tag name) reads ${SHREK_TAG}, this tag's full name",
            )
        )
    return [(line, where)]


UNQUOTED_ARRAY = re.compile(r"\$\{IN[0-9]+\[[@*]\]\}")


def _quote_arrays(line: str) -> str:
    """``${IN1[@]}`` outside quotes -> ``"${IN1[@]}"``: every file one word, as it already is
    for PanDA's file names (no blanks, no glob characters). Inside double quotes it already
    expands that way; inside single quotes or a comment it is not expanded: both left alone."""
    out, quote, i = [], "", 0
    while i < len(line):
        char = line[i]
        if char == "\\" and quote != "'":
            out.append(line[i : i + 2])
            i += 2
            continue
        if char == "#" and not quote and (i == 0 or line[i - 1] in " \t;"):
            out.append(line[i:])
            break
        if char in "'\"" and quote in ("", char):
            quote = "" if quote else char
        match = UNQUOTED_ARRAY.match(line, i) if not quote else None
        if match:
            out.append(f'"{match.group()}"')
            i = match.end()
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _map_arguments(
    doc: Document, script: str, origin: list[int], streams: int, result: Converted
) -> str:
    """2022 ran the payload as ``job.sh <uniqueId> <IN1 files,> <IN2 files,> …``: ``$1`` is
    the job's number, ``$2``… each input's files joined by commas, ``$@`` all of them. Each
    use is rewritten to SHREK's variables that hold the same values, and noted."""

    def stream(k: int) -> str:
        return f'$(IFS=,; echo "${{IN{k}[*]}}")'

    every = " ".join(["${SHREK_SEQ}", *(stream(k) for k in range(1, streams + 1))])
    for text, offset in reversed(positional_parameters(script)):
        symbol = text.strip("${}")
        if symbol == "1":
            value = "${SHREK_SEQ}"
        elif symbol in ("@", "*"):
            value = every
        elif int(symbol) - 1 <= streams:
            value = stream(int(symbol) - 1)
        else:
            value = "${SHREK_SEQ:+}"  # 2022 passed no such argument: it expanded to nothing
        line = origin[min(script.count("\n", 0, offset), len(origin) - 1)]
        result.notes.append(Note(doc.file, line, f"{text} (2022's job argument) reads {value}"))
        script = script[:offset] + value + script[offset + len(text) :]
    return script
