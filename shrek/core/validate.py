"""Semantic validation: what a schema cannot say about a tag.

Schemas check each file's shape; this module checks meaning across files so that validation
predicts submission: names match files and directories, the build exists, inputs refer to real
outputs, the steps form a DAG, every step knows how many jobs to run, resources exist and stay in
the tag, every ``${name}`` in a payload is defined, and labels agree with the ledger. All
problems of a run are collected, each at ``file:line:column`` with its fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from shrek.core import naming, resources
from shrek.core.allocations import allocation_findings
from shrek.core.bashvars import assigned_variables, positional_parameters, used_variables
from shrek.core.freeze import frozen_file_findings, read_freeze
from shrek.core.labels import LabelError, parse_label
from shrek.core.layout import LIFECYCLE_DIR
from shrek.core.ledger import Entry, ledger_findings
from shrek.core.lifecycle import read_events
from shrek.core.model import Step, Tag, load_tag
from shrek.core.registry import Registry
from shrek.core.report import Report
from shrek.core.suggest import close_matches
from shrek.errors import ExitCode, Finding, ShrekError, sort_findings
from shrek.redact import find_credentials

# Variables every job has (see the wrapper script) and common environment any shell has.
SHREK_VARIABLES = (
    "SHREK_TAG",
    "SHREK_LABEL",
    "SHREK_BUILD",
    "SHREK_STEP",
    "SHREK_SEQ",
    "SHREK_JOB",
    "SHREK_FREEZE_DIGEST",
    "SHREK_REGISTRY_COMMIT",
    "SHREK_SUBMISSION",
    "SHREK_SANDBOX",
)
ENVIRONMENT = (
    "HOME",
    "PATH",
    "PWD",
    "USER",
    "TMPDIR",
    "HOSTNAME",
    "SHELL",
    "LANG",
    "LD_LIBRARY_PATH",
    "PYTHONPATH",
)
_INPUT_ARRAY = re.compile(r"IN[0-9]+")


def validate(registry: Registry, names: Iterable[str] = (), *, keep_tags: bool = True) -> Report:
    """Validate the named tags (all tags when none are named) and the label ledger.
    ``keep_tags=False``: the report holds findings only (``shrek validate`` of 10,000 tags
    need not keep 10,000 loaded tags in memory)."""
    selected = list(dict.fromkeys([registry.resolve(n) for n in names] or registry.tag_names()))
    findings, by_label = ledger_findings(registry)
    findings += allocation_findings(registry.root, {n: registry.tag_dir(n) for n in selected})
    loaded: dict[str, Tag] = {}
    for name in selected:
        tag, problems = tag_findings(registry, name, by_label)
        findings.extend(problems)
        if tag is not None and keep_tags:
            loaded[name] = tag
    return Report(selected, sort_findings(findings), loaded)


def tag_findings(
    registry: Registry, name: str, by_label: dict[str, Entry]
) -> tuple[Tag | None, list[Finding]]:
    """Everything wrong with one tag (its directory, files, meaning and freeze)."""
    tag, findings = load_tag(registry, name)
    findings.extend(_check_directory(registry, name, by_label))
    if tag is not None:
        findings.extend(check_tag(registry, tag))
    findings.extend(_check_freeze(registry, name, tag))
    findings.extend(_check_events(registry, name))
    return tag, findings


def _check_events(registry: Registry, name: str) -> list[Finding]:
    """The tag's lifecycle events (invalidations, supersessions) read and match their schema:
    every command that shows the tag's state reads them."""
    try:
        read_events(registry.tag_dir(name))
    except ShrekError as error:
        events = f"tags/{name}/{LIFECYCLE_DIR}"
        return error.findings or [Finding(events, 0, 0, error.message, error.fix)]
    return []


def _check_directory(registry: Registry, name: str, ledger: dict[str, Entry]) -> list[Finding]:
    label, dash, build = name.partition("-")
    where = f"tags/{name}"
    findings: list[Finding] = []
    if not (registry.tag_dir(name) / "tag.yaml").exists():
        return [
            Finding(
                where,
                0,
                0,
                "tag directory has no tag.yaml",
                "create tags with 'shrek tag new', or remove this directory",
            )
        ]
    try:
        parse_label(label, registry.prefix)
    except LabelError as exc:
        findings.append(
            Finding(
                where,
                0,
                0,
                f"tag directory name: {exc}",
                "tag directories are named <label>-<build>, e.g. sP22aa-mdc2.7",
            )
        )
        return findings
    if not dash or not build:
        findings.append(
            Finding(where, 0, 0, "tag directory name has no build", f"rename it to {label}-<build>")
        )
    entry = ledger.get(label)
    if entry is None:
        findings.append(
            Finding(
                where,
                0,
                0,
                f"label {label} was never allocated (it is not in labels.ledger)",
                "create tags with 'shrek tag new' so the label is recorded",
            )
        )
    elif entry.tag != name:
        findings.append(
            Finding(
                where,
                0,
                0,
                f"label {label} was allocated to {entry.tag} "
                f"(labels.ledger line {entry.line}); labels are never reused",
                "create a new tag with 'shrek tag new --year YY --build ...'",
            )
        )
    return findings


def load_for_looking(registry: Registry, name: str, purpose: str) -> tuple[Tag, list[Finding]]:
    """The tag as far as it loads, with its validation findings: a broken tag can still be
    drawn or compared (seeing it is how a user finds what is wrong); only a tag.yaml that
    does not load stops that. ``purpose`` says what could not be done ("drawn")."""
    from shrek.core.model import load_tag

    name = registry.resolve(name)
    tag, findings = load_tag(registry, name)
    if tag is None:
        raise ShrekError(
            f"tag {name} does not load, so it cannot be {purpose}",
            "fix what is shown above",
            ExitCode.INVALID,
            findings,
        )
    return tag, validate(registry, [name]).findings


def require_valid(
    registry: Registry,
    name: str,
    *,
    refusal: str = "is not valid",
    code: ExitCode = ExitCode.INVALID,
) -> Tag:
    """The loaded tag ``name``, refusing (with every finding) one that does not validate;
    ``refusal`` and ``code`` say what the command could not do because of it."""
    resolved = registry.resolve(name)
    report = validate(registry, [resolved])
    tag = report.tags.get(resolved)
    if not report.ok or tag is None:
        raise ShrekError(
            f"tag {resolved} {refusal}",
            f"fix the problems above (shrek validate {resolved})",
            code,
            report.findings,
        )
    return tag


def _check_freeze(registry: Registry, name: str, tag: Tag | None) -> list[Finding]:
    """A frozen tag's freeze.yaml must be intact and its files exactly as frozen."""
    frozen, problems = read_freeze(registry, name)
    if frozen is not None and tag is not None:
        problems.extend(frozen_file_findings(tag, frozen))
    return problems


def check_tag(registry: Registry, tag: Tag) -> list[Finding]:
    """Every cross-file check of one loaded tag."""
    findings = _check_tag_file(registry, tag) + _check_code_credentials(tag)
    if not tag.steps and not tag.broken_steps:
        findings.append(
            Finding(
                f"tags/{tag.name}/job",
                0,
                0,
                "the tag has no steps",
                "add a step file job/<step>.yaml (see 'shrek tag new "
                "--template hfprod' for an example)",
            )
        )
    known_variables = set(SHREK_VARIABLES) | set(ENVIRONMENT)
    build = registry.builds.get(tag.build, {})
    known_variables.update(build.get("environment", []))
    known_variables.update(
        f"{naming.code_variable(repo['name'])}_{part}"
        for repo in tag.data.get("code") or []
        for part in ("URL", "REF", "SHA")
    )
    for stem, step in tag.steps.items():
        findings.extend(_check_step(tag, stem, step, known_variables))
    findings.extend(_check_cycles(tag))
    findings.extend(_check_name_lengths(registry, tag))
    return findings


# Without panda.scope or panda.nickname in shrek.yaml, names are measured with a scope of this
# length: 'user.' and a 16-character account name.
ASSUMED_SCOPE = "user." + "n" * 16


def _check_name_lengths(registry: Registry, tag: Tag) -> list[Finding]:
    """The longest container name a PanDA submission of the tag would make (a test one, the
    longest), against panda-client's limit; refused here instead of at every submission."""
    panda = registry.settings.get("panda") or {}
    scope = str(panda.get("scope") or "")
    if not scope:
        scope = f"user.{panda['nickname']}" if panda.get("nickname") else ASSUMED_SCOPE
    base = naming.submission_base(scope, tag.name, 9999, test=True)
    findings = []
    for step in tag.steps.values():  # the task's index has three digits, whatever it is
        task = naming.task_name(base, 0, step.name)
        names = [naming.log_container(task)]
        names += [naming.output_container(task, o.name) for o in step.outputs]
        longest = max(names, key=len)
        if len(longest) > naming.MAX_CONTAINER_NAME:
            excess = len(longest) - naming.MAX_CONTAINER_NAME
            findings.append(
                step.document.finding(
                    ["name"],
                    f"a PanDA submission of this step would name a container of {len(longest)} "
                    f"characters ({longest}); panda-client allows "
                    f"{naming.MAX_CONTAINER_NAME}",
                    f"shorten the step or output names by {excess} character(s)",
                )
            )
    return findings


def _check_tag_file(registry: Registry, tag: Tag) -> list[Finding]:
    doc = tag.document
    findings: list[Finding] = []
    label, _, build = tag.name.partition("-")
    if tag.label != label:
        findings.append(
            doc.finding(
                ["label"],
                f"label '{tag.label}' differs from the directory's label '{label}'",
                f"set 'label: {label}'",
            )
        )
    else:
        try:
            parse_label(tag.label, registry.prefix)
        except LabelError as exc:
            findings.append(doc.finding(["label"], str(exc), "labels come from 'shrek tag new'"))
    if tag.build != build:
        findings.append(
            doc.finding(
                ["build"],
                f"build '{tag.build}' differs from the directory's build '{build}'",
                f"set 'build: {build}' (a different build is a different tag)",
            )
        )
    if tag.build not in registry.builds:
        known = ", ".join(registry.builds)
        close = close_matches(tag.build, list(registry.builds), n=1)
        findings.append(
            doc.finding(
                ["build"],
                f"unknown build '{tag.build}' (this registry knows: {known})",
                (f"did you mean '{close[0]}'? " if close else "")
                + "or add the build under 'builds:' in shrek.yaml",
            )
        )
    parent = tag.data.get("parent")
    if parent:
        try:
            registry.resolve(parent)
        except ShrekError:
            findings.append(
                doc.finding(
                    ["parent"],
                    f"parent '{parent}' is not a tag of this registry",
                    "name an existing tag, or remove 'parent'",
                )
            )
    seen: dict[str, int] = {}  # by the job's variables: 'a-b' and 'a_b' clash there too
    code = tag.data.get("code") or []
    for n, repo in enumerate(code):
        variable = naming.code_variable(repo["name"])
        if variable in seen:
            other = code[seen[variable]]["name"]
            findings.append(
                doc.finding(
                    ["code", n, "name"],
                    f"code repository name '{repo['name']}' is used twice "
                    f"(also code[{seen[variable]}])"
                    if other == repo["name"]
                    else f"code repositories '{other}' and '{repo['name']}' both give the job "
                    f"{variable}_URL, _REF and _SHA",
                    "give each repository its own name",
                )
            )
        seen.setdefault(variable, n)
    return findings


def _check_code_credentials(tag: Tag) -> list[Finding]:
    """A code repository's URL with a password or token in it would be committed."""
    findings = []
    for n, repo in enumerate(tag.data.get("code") or []):
        for found in find_credentials(str(repo.get("url", ""))):
            findings.append(
                tag.document.finding(
                    ["code", n, "url"],
                    f"the URL of code repository '{repo.get('name')}' holds a credential "
                    f"({found.kind})",
                    "give the URL without credentials; git finds them in its credential helper",
                )
            )
    return findings


def _check_step(tag: Tag, stem: str, step: Step, known_variables: set[str]) -> list[Finding]:
    doc = step.document
    findings: list[Finding] = []
    if step.name != stem:
        findings.append(
            doc.finding(
                ["name"],
                f"step name '{step.name}' differs from the file name '{stem}.yaml'",
                f"set 'name: {stem}' or rename the file to job/{step.name}.yaml",
            )
        )
    findings.extend(_check_parameters(step))
    findings.extend(_check_inputs(tag, step))
    seen: dict[str, int] = {}
    for n, output in enumerate(step.outputs):
        if output.name in seen:
            findings.append(
                doc.finding(
                    ["outputs", n, "name"],
                    f"duplicate output '{output.name}' (also outputs[{seen[output.name]}])",
                    "give each output its own name",
                )
            )
        seen.setdefault(output.name, n)
    directory = step.resource_dir and resources.resource_dir_problem(
        tag.directory, step.resource_dir
    )
    if directory:
        findings.append(doc.finding(["resource_dir"], directory.message, directory.fix))
    for n, pattern in enumerate(step.resources if not directory else ()):
        _, problem = tag.expand(pattern, step.resource_dir)
        if problem:
            findings.append(doc.finding(["resources", n], problem.message, problem.fix))
    findings.extend(_check_variables(step, known_variables))
    findings.extend(_check_positional(step))
    findings.extend(_check_credentials(step))
    return findings


def _check_positional(step: Step) -> list[Finding]:
    """``$1``, ``$@``: the payload gets no arguments, so every attempt would fail (or run
    with an empty value)."""
    findings = []
    payload = step.payload
    for text, offset in positional_parameters(payload):
        line, column = _payload_position(step, offset, text)
        findings.append(
            Finding(
                step.file,
                line,
                column,
                f"'{step.payload_key}' uses {text}, but the job's payload is run without "
                "arguments (it would be empty, or stop the job under 'set -u')",
                "use a parameter (${name}) instead; for the job's own number (what $1 meant in "
                "2022's job files) use ${SHREK_SEQ}",
            )
        )
    return findings


CREDENTIAL_FIX = (
    "never put a credential in a tag (it is committed and copied to every job): give the job "
    "its credential at run time from its environment or a file on the worker, and revoke this one"
)


def _check_credentials(step: Step) -> list[Finding]:
    """A parameter, resource, command or set-up line holding a credential is an error."""
    doc = step.document
    findings = []
    # a parameter is read as NAME=VALUE: 'db_password: hunter2' is a credential by its name
    texts: list[tuple[list[object], str]] = [
        (["parameters", name], f"{name}={value}") for name, value in step.parameters.items()
    ]
    texts += [(["resources", n], pattern) for n, pattern in enumerate(step.resources)]
    texts += [
        ([key], str(doc.data[key])) for key in ("command", "exec", "setup") if doc.data.get(key)
    ]
    # One look at all of them first (lines are scanned one by one, so joining cannot hide a
    # credential); nearly every step has none, and then no text needs its own look.
    if not find_credentials("\n".join(text for _, text in texts)):
        return []
    for path, text in texts:
        for found in find_credentials(text):
            line, column = doc.locate_text(path, text[found.start : found.end][:40])
            findings.append(
                Finding(
                    doc.file,
                    line,
                    column,
                    f"{_describe_path(path)} holds a credential ({found.kind})",
                    CREDENTIAL_FIX,
                )
            )
    return findings


def _describe_path(path: list[object]) -> str:
    return ".".join(str(p) for p in path)


def _check_parameters(step: Step) -> list[Finding]:
    findings = []
    for name in step.parameters:
        if name.startswith("SHREK_") or _INPUT_ARRAY.fullmatch(name):
            findings.append(
                step.document.finding(
                    ["parameters", name],
                    f"parameter name '{name}' is reserved for SHREK's own variables",
                    "rename the parameter",
                    key=True,
                )
            )
    return findings


def _check_inputs(tag: Tag, step: Step) -> list[Finding]:
    doc = step.document
    findings: list[Finding] = []
    primaries = step.primary_inputs
    for extra in primaries[1:]:
        findings.append(
            doc.finding(
                ["inputs", extra.position],
                f"more than one primary input (also inputs[{primaries[0].position}])",
                "mark all but one input 'secondary: true'",
            )
        )
    if step.jobs is None and not primaries:
        findings.append(
            doc.finding(
                [],
                "the step has neither 'jobs' nor a primary input, so the number of jobs is unknown",
                "add 'jobs: N' for a generator step, or a primary input",
            )
        )
    if step.jobs is not None and primaries:
        findings.append(
            doc.finding(
                ["jobs"],
                "'jobs' is set but the step has a primary input, which decides the number of jobs",
                "remove 'jobs' (use files_per_job to size jobs)",
                key=True,
            )
        )
    findings.extend(_check_input_options(step))
    step_names = set(tag.steps) | tag.broken_steps
    for item in step.inputs:
        producer, dot, output = item.dataset.partition(".")
        path = ["inputs", item.position, "dataset"]
        if producer in step_names and dot and output.endswith("/"):
            findings.append(
                doc.finding(
                    path,
                    f"'{item.dataset}' names an output of step '{producer}' as a container; "
                    "outputs of this tag are named without a trailing '/'",
                    f"write '{item.dataset.rstrip('/')}'",
                )
            )
            continue
        if producer in step_names and dot:
            if producer in tag.broken_steps:
                continue
            if producer == step.name:
                continue  # reported as a cycle
            outputs = [o.name for o in tag.steps[producer].outputs]
            if output not in outputs:
                findings.append(
                    doc.finding(
                        path,
                        f"step '{producer}' has no output "
                        f"'{output}' (it has: {', '.join(outputs)})",
                        f"use one of: {', '.join(producer + '.' + o for o in outputs)}",
                    )
                )
        elif dot and "." not in output and ":" not in item.dataset:
            close = close_matches(producer, sorted(step_names), n=1, cutoff=0.6)
            if close:
                findings.append(
                    doc.finding(
                        path,
                        f"'{item.dataset}' looks like an output of a "
                        f"step, but this tag has no step '{producer}'",
                        f"did you mean '{close[0]}.{output}'?",
                    )
                )
    return findings


def _payload_position(step: Step, offset: int, text: str) -> tuple[int, int]:
    """File line and column of ``text`` at ``offset`` in the payload: exact for a block scalar
    (``command: |``, its lines are the file's lines), else the first occurrence."""
    doc = step.document
    line, column = doc.where([step.payload_key])
    lines = doc.text.splitlines()
    if 0 < line <= len(lines) and lines[line - 1][column - 1 : column] in ("|", ">"):
        number = line + _payload_line(step.payload, offset)
        if number <= len(lines) and text in lines[number - 1]:
            return number, lines[number - 1].find(text) + 1
    return doc.locate_text([step.payload_key], text)


def _payload_line(payload: str, offset: int) -> int:
    """1-based line of ``offset`` within ``payload``."""
    return payload.count("\n", 0, offset) + 1


def _check_input_options(step: Step) -> list[Finding]:
    """Options that only mean something for one kind of input."""
    findings = []
    for item, data in zip(step.inputs, step.document.data.get("inputs") or [], strict=True):
        if not item.secondary and "reusable" in data:
            findings.append(
                step.document.finding(
                    ["inputs", item.position, "reusable"],
                    "'reusable' applies to secondary streams; the primary input is read once",
                    "remove 'reusable' here (or mark the input 'secondary: true')",
                    key=True,
                )
            )
        if item.secondary and item.max_files is not None:
            findings.append(
                step.document.finding(
                    ["inputs", item.position, "max_files"],
                    "'max_files' limits the primary input (PanDA's --nFiles); a secondary stream "
                    "is read files_per_job at a time",
                    "move 'max_files' to the primary input, or remove it",
                    key=True,
                )
            )
    return findings


def _check_variables(step: Step, known: set[str]) -> list[Finding]:
    script = step.payload
    defined = known | set(step.parameters) | assigned_variables(script)
    defined.update(f"IN{n}" for n in range(1, len(step.inputs) + 1))
    findings = []
    for name in used_variables(script):
        if name in defined:
            continue
        line, column = step.document.locate_text([step.payload_key], "$" + name)
        if (line, column) == step.document.where([step.payload_key]):
            line, column = step.document.locate_text([step.payload_key], "${" + name)
        close = close_matches(name, sorted(defined), n=1)
        if _INPUT_ARRAY.fullmatch(name):
            fix = f"the step has {len(step.inputs)} input(s): use IN1..IN{len(step.inputs)}"
        else:
            fix = (f"did you mean '{close[0]}'? or " if close else "") + (
                f"add '{name}' under parameters"
            )
        findings.append(
            Finding(
                step.file,
                line,
                column,
                f"'{step.payload_key}' uses ${{{name}}}, which is neither "
                "a parameter nor a variable SHREK provides",
                fix,
            )
        )
    return findings


def _check_cycles(tag: Tag) -> list[Finding]:
    """Report each cycle of the step graph once, as a path (a -> b -> a), at the input of the
    second step that reads the first."""
    findings: list[Finding] = []
    for cycle in tag.cycles():
        producer, consumer = cycle[0], cycle[1]
        step = tag.steps[consumer]
        index = next(i.position for i in step.inputs if i.dataset.partition(".")[0] == producer)
        findings.append(
            step.document.finding(
                ["inputs", index, "dataset"],
                "the steps form a cycle: "
                + " -> ".join(cycle)
                + " (each reads the output of the one before)",
                "a step cannot read, directly or indirectly, its own output: remove "
                "one of these inputs",
            )
        )
    return findings
