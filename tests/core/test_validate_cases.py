"""A table of broken registries: each mistake is reported at its exact file:line with its fix.

Every case starts from a valid two-step tag (``gen`` generates, ``use`` reads gen's output),
breaks one thing, and asserts the finding's location and message. Validation must report all
problems, so each case also checks that nothing else was reported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from shrek.core.ledger import LEDGER_FILE
from shrek.core.registry import Registry
from shrek.core.validate import validate
from tests.core.conftest import GEN, TAG, TAG_YAML, assert_reported


def test_the_base_tag_is_valid(registry: Registry, tag_dir: Path) -> None:
    report = validate(registry)
    assert report.ok, [str(f) for f in report.findings]


def write(relative: str, text: str) -> Callable[[Path], None]:
    def apply(tag_dir: Path) -> None:
        path = tag_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return apply


def replace(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(tag_dir: Path) -> None:
        path = tag_dir / relative
        text = path.read_text()
        assert old in text, f"test setup: {old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1))

    return apply


def symlink_outside(tag_dir: Path) -> None:
    outside = tag_dir.parent.parent.parent / "secret.txt"
    outside.write_text("not for the grid\n")
    os.symlink(outside, tag_dir / "bin" / "secret.txt")
    replace("job/gen.yaml", "  - bin/run.sh\n", "  - bin/run.sh\n  - bin/secret.txt\n")(tag_dir)


def hand_made_tag(tag_dir: Path) -> None:
    other = tag_dir.parent / "sP22zz-mdc2.7"
    other.mkdir()
    (other / "job").mkdir()
    (other / "job" / "gen.yaml").write_text(GEN)
    (other / "bin").mkdir()
    (other / "bin" / "run.sh").write_text("echo\n")
    (other / "tag.yaml").write_text(TAG_YAML.replace("sP22aa", "sP22zz"))


def reused_label(tag_dir: Path) -> None:
    other = tag_dir.parent / "sP22aa-mdc2.8"
    other.mkdir()
    (other / "job").mkdir()
    (other / "job" / "gen.yaml").write_text(GEN)
    (other / "bin").mkdir()
    (other / "bin" / "run.sh").write_text("echo\n")
    (other / "tag.yaml").write_text(TAG_YAML.replace("mdc2.7", "mdc2.8"))


def duplicated_ledger_line(tag_dir: Path) -> None:
    ledger = tag_dir.parent.parent / LEDGER_FILE
    line = ledger.read_text().splitlines()[-1]
    ledger.write_text(ledger.read_text() + line.replace("mdc2.7", "mdc2.8") + "\n")


def conflicted_ledger(tag_dir: Path) -> None:
    ledger = tag_dir.parent.parent / LEDGER_FILE
    ledger.write_text(
        ledger.read_text() + "<<<<<<< HEAD\nsP22ab x t y\n=======\nsP22ab z t y\n>>>>>>> other\n"
    )


def drop_build(tag_dir: Path) -> None:
    settings = tag_dir.parent.parent / "shrek.yaml"
    text = settings.read_text()
    settings.write_text(text.replace("  mdc2.7:\n", "  mdc2.6:\n", 1))


J = f"{TAG}/job"
# (case id, how to break the tag, expected "file:line:column", expected message fragment)
CASES: list[tuple[str, Callable[[Path], None], str, str]] = [
    (
        "yaml-syntax",
        write("job/gen.yaml", "name: gen\ndescription: [unclosed\njobs: 1\n"),
        f"{J}/gen.yaml:3:5",
        "invalid YAML",
    ),
    (
        "yaml-tab",
        write("job/gen.yaml", GEN.replace("  nevents", "\tnevents")),
        f"{J}/gen.yaml:4:1",
        "invalid YAML",
    ),
    (
        "yaml-bad-indent",
        replace("job/gen.yaml", '    files: "*.root"', "   files: x"),
        f"{J}/gen.yaml:8:4",
        "invalid YAML",
    ),
    (
        "duplicate-key",
        replace("job/gen.yaml", "jobs: 2\n", "jobs: 2\njobs: 3\n"),
        f"{J}/gen.yaml:6:1",
        "duplicate key 'jobs' (first on line 5)",
    ),
    ("empty-file", write("job/gen.yaml", "# nothing yet\n"), f"{J}/gen.yaml:1:1", "file is empty"),
    (
        "not-a-mapping",
        write("job/gen.yaml", "- name: gen\n"),
        f"{J}/gen.yaml:1:1",
        "the document must be a mapping, not a list",
    ),
    (
        "wrong-type-jobs",
        replace("job/gen.yaml", "jobs: 2", "jobs: '2'"),
        f"{J}/gen.yaml:5:7",
        "jobs must be an integer, not a string ('2')",
    ),
    (
        "wrong-type-files-per-job",
        replace("job/use.yaml", "files_per_job: 2", "files_per_job: two"),
        f"{J}/use.yaml:5:20",
        "inputs[0].files_per_job must be an integer, not a string",
    ),
    (
        "unknown-top-key",
        replace("job/gen.yaml", "jobs: 2\n", "jobs: 2\nnevents: 4\n"),
        f"{J}/gen.yaml:6:1",
        "unknown key 'nevents' in the document",
    ),
    (
        "unknown-requirement",
        write("job/gen.yaml", GEN + "requirements:\n  memroy_mb: 2\n"),
        f"{J}/gen.yaml:13:3",
        "unknown key 'memroy_mb' in requirements",
    ),
    (
        "missing-description",
        replace("job/gen.yaml", "description: generate events\n", ""),
        f"{J}/gen.yaml:1:1",
        "missing required key 'description'",
    ),
    (
        "command-and-exec",
        write("job/gen.yaml", GEN + "command: echo\n"),
        f"{J}/gen.yaml:12:1",
        "found both 'command' and 'exec'",
    ),
    (
        "neither-command-nor-exec",
        replace("job/gen.yaml", "exec: bash bin/run.sh ${nevents} ${SHREK_SEQ}\n", ""),
        f"{J}/gen.yaml:1:1",
        "exactly one of 'command'",
    ),
    (
        "exec-multiline",
        replace("job/gen.yaml", "exec: bash bin/run.sh ${nevents} ${SHREK_SEQ}", 'exec: "a\\nb"'),
        f"{J}/gen.yaml:11:7",
        "invalid value 'a\\nb' for exec",
    ),
    (
        "name-differs-from-file",
        replace("job/gen.yaml", "name: gen", "name: generate"),
        f"{J}/gen.yaml:1:7",
        "step name 'generate' differs from the file name 'gen.yaml'",
    ),
    (
        "bad-step-name",
        write("job/Gen.yaml", GEN.replace("name: gen", "name: Gen")),
        f"{J}/Gen.yaml:1:7",
        "invalid value 'Gen' for name",
    ),
    (
        "list-parameter",
        replace("job/gen.yaml", "nevents: 10", "nevents: [1, 2]"),
        f"{J}/gen.yaml:4:12",
        "parameters.nevents must be a string, an integer, a number or true or false, not a list",
    ),
    (
        "bad-parameter-name",
        replace("job/gen.yaml", "  nevents: 10\n", "  nevents: 10\n  n-events: 3\n"),
        f"{J}/gen.yaml:5:3",
        "invalid name 'n-events' in parameters",
    ),
    (
        "reserved-parameter",
        replace("job/gen.yaml", "  nevents: 10\n", "  nevents: 10\n  SHREK_SEQ: 3\n"),
        f"{J}/gen.yaml:5:3",
        "parameter name 'SHREK_SEQ' is reserved",
    ),
    (
        "undefined-parameter-exec",
        replace("job/gen.yaml", "${nevents}", "${nevent}"),
        f"{J}/gen.yaml:11:23",
        "'exec' uses ${nevent}, which is neither a parameter",
    ),
    (
        "undefined-parameter-command",
        replace("job/use.yaml", 'echo "$f"', 'echo "$f $outdir"'),
        f"{J}/use.yaml:11:14",
        "'command' uses ${outdir}, which is neither a parameter",
    ),
    (
        "undefined-input-array",
        replace("job/use.yaml", '"${IN1[@]}"', '"${IN2[@]}"'),
        f"{J}/use.yaml:10:13",
        "'command' uses ${IN2}",
    ),
    (
        "dangling-output",
        replace("job/use.yaml", "gen.events", "gen.hits"),
        f"{J}/use.yaml:4:14",
        "step 'gen' has no output 'hits' (it has: events)",
    ),
    (
        "misspelt-step",
        replace("job/use.yaml", "gen.events", "gne.events"),
        f"{J}/use.yaml:4:14",
        "this tag has no step 'gne'",
    ),
    (
        "cycle",
        replace(
            "job/gen.yaml",
            "jobs: 2\n",
            "jobs: 2\ninputs:\n  - dataset: use.merged\n    secondary: true\n",
        ),
        f"{J}/use.yaml:4:14",
        "the steps form a cycle: gen -> use -> gen",
    ),
    (
        "self-cycle",
        replace("job/use.yaml", "gen.events", "use.merged"),
        f"{J}/use.yaml:4:14",
        "the steps form a cycle: use -> use",
    ),
    (
        "duplicate-output",
        replace(
            "job/gen.yaml",
            '    files: "*.root"\n',
            '    files: "*.root"\n  - name: events\n    files: b\n',
        ),
        f"{J}/gen.yaml:9:11",
        "duplicate output 'events' (also outputs[0])",
    ),
    (
        "output-glob-with-dir",
        replace("job/gen.yaml", '"*.root"', '"out/*.root"'),
        f"{J}/gen.yaml:8:12",
        "invalid value 'out/*.root' for outputs[0].files",
    ),
    (
        "missing-resource",
        replace("job/gen.yaml", "  - bin/run.sh", "  - bin/rnu.sh"),
        f"{J}/gen.yaml:10:5",
        "resource 'bin/rnu.sh' does not exist",
    ),
    (
        "resource-escape",
        replace("job/gen.yaml", "  - bin/run.sh", "  - ../../shrek.yaml"),
        f"{J}/gen.yaml:10:5",
        "resource '../../shrek.yaml' leaves the tag directory",
    ),
    (
        "resource-absolute",
        replace("job/gen.yaml", "  - bin/run.sh", "  - /etc/passwd"),
        f"{J}/gen.yaml:10:5",
        "resource '/etc/passwd' is an absolute path",
    ),
    (
        "resource-symlink-out",
        symlink_outside,
        f"{J}/gen.yaml:11:5",
        "a symlink leading outside the tag directory",
    ),
    (
        "resource-dir-missing",
        replace(
            "job/gen.yaml",
            "resources:\n  - bin/run.sh",
            "resource_dir: nope\nresources:\n  - run.sh",
        ),
        f"{J}/gen.yaml:9:15",
        "resource_dir 'nope' is not a directory of the tag",
    ),
    (
        "resource-dir-escape",
        replace(
            "job/gen.yaml",
            "resources:\n  - bin/run.sh",
            "resource_dir: ../x\nresources:\n  - run.sh",
        ),
        f"{J}/gen.yaml:9:15",
        "invalid value '../x' for resource_dir",
    ),
    (
        "resource-in-dir-missing",
        replace(
            "job/gen.yaml",
            "resources:\n  - bin/run.sh",
            "resource_dir: bin\nresources:\n  - rnu.sh",
        ),
        f"{J}/gen.yaml:11:5",
        "resource 'bin/rnu.sh' does not exist",
    ),
    (
        "resource-glob-empty",
        replace("job/gen.yaml", "  - bin/run.sh", "  - bin/run.sh\n  - macros/*.C"),
        f"{J}/gen.yaml:11:5",
        "resource glob 'macros/*.C' matches no file",
    ),
    (
        "jobs-and-primary-input",
        replace("job/use.yaml", "inputs:", "jobs: 3\ninputs:"),
        f"{J}/use.yaml:3:1",
        "'jobs' is set but the step has a primary input",
    ),
    (
        "neither-jobs-nor-input",
        replace("job/gen.yaml", "jobs: 2\n", ""),
        f"{J}/gen.yaml:1:1",
        "the step has neither 'jobs' nor a primary input",
    ),
    (
        "two-primary-inputs",
        replace(
            "job/use.yaml",
            "    files_per_job: 2\n",
            "    files_per_job: 2\n  - dataset: mdc2.bkg\n",
        ),
        f"{J}/use.yaml:6:5",
        "more than one primary input (also inputs[0])",
    ),
    (
        "too-many-attempts",
        write("job/gen.yaml", GEN + "requirements:\n  max_attempts: 100\n"),
        f"{J}/gen.yaml:13:17",
        "100 is greater than the maximum of 50",
    ),
    (
        "yml-extension",
        write("job/extra.yml", GEN),
        f"{J}/extra.yml",
        "step files end in '.yaml', not '.yml'",
    ),
    (
        "unknown-build",
        drop_build,
        f"{TAG}/tag.yaml:2:8",
        "unknown build 'mdc2.7' (this registry knows: mdc2.6, mdc2.8, new, local)",
    ),
    (
        "label-differs-from-dir",
        replace("tag.yaml", "label: sP22aa", "label: sP22ab"),
        f"{TAG}/tag.yaml:1:8",
        "label 'sP22ab' differs from the directory's label 'sP22aa'",
    ),
    (
        "build-differs-from-dir",
        replace("tag.yaml", "build: mdc2.7", "build: mdc2.8"),
        f"{TAG}/tag.yaml:2:8",
        "build 'mdc2.8' differs from the directory's build 'mdc2.7'",
    ),
    (
        "unknown-tag-key",
        replace("tag.yaml", "title:", "titel: x\ntitle:"),
        f"{TAG}/tag.yaml:3:1",
        "unknown key 'titel' in the document",
    ),
    (
        "unknown-parent",
        write("tag.yaml", TAG_YAML + "parent: sP21q\n"),
        f"{TAG}/tag.yaml:10:9",
        "parent 'sP21q' is not a tag of this registry",
    ),
    (
        "duplicate-code-name",
        write("tag.yaml", TAG_YAML + "  - name: macros\n    url: x\n    ref: y\n"),
        f"{TAG}/tag.yaml:10:11",
        "code repository name 'macros' is used twice",
    ),
    (
        "code-names-clash-as-variables",
        write("tag.yaml", TAG_YAML + "  - name: MACROS\n    url: x\n    ref: y\n"),
        f"{TAG}/tag.yaml:10:11",
        "code repositories 'macros' and 'MACROS' both give the job SHREK_CODE_MACROS_URL",
    ),
    (
        "ref-not-a-string",
        replace("tag.yaml", "ref: main", "ref: 2022"),
        f"{TAG}/tag.yaml:9:10",
        "code[0].ref must be a string, not an integer (2022)",
    ),
    ("tag-not-in-ledger", hand_made_tag, "tags/sP22zz-mdc2.7", "label sP22zz was never allocated"),
    (
        "label-reused",
        reused_label,
        "tags/sP22aa-mdc2.8",
        "label sP22aa was allocated to sP22aa-mdc2.7",
    ),
    (
        "ledger-duplicate",
        duplicated_ledger_line,
        f"{LEDGER_FILE}:7:1",
        "label sP22aa is allocated twice (also on line 6)",
    ),
    (
        "ledger-conflict",
        conflicted_ledger,
        f"{LEDGER_FILE}:7:1",
        "unresolved merge conflict in the label ledger",
    ),
]


@pytest.mark.parametrize(
    ("case", "breakage", "location", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_broken_registry_is_reported_precisely(
    registry: Registry,
    tag_dir: Path,
    case: str,
    breakage: Callable[[Path], None],
    location: str,
    message: str,
) -> None:
    breakage(tag_dir)
    assert_reported(registry, location, message)


def test_all_problems_of_a_run_are_reported(registry: Registry, tag_dir: Path) -> None:
    replace("job/gen.yaml", "${nevents}", "${nevent}")(tag_dir)
    replace("job/use.yaml", "gen.events", "gen.hits")(tag_dir)
    replace("tag.yaml", "label: sP22aa", "label: sP22ab")(tag_dir)
    report = validate(registry)
    assert [f.location for f in report.findings] == [
        f"{TAG}/job/gen.yaml:11:23",
        f"{TAG}/job/use.yaml:4:14",
        f"{TAG}/tag.yaml:1:8",
    ]


def test_a_broken_step_does_not_cause_follow_on_errors(registry: Registry, tag_dir: Path):
    write("job/gen.yaml", "name: gen\ndescription: [\n")(tag_dir)
    report = validate(registry)
    assert [f.file for f in report.findings] == [f"{J}/gen.yaml"]


def test_a_resource_dir_ships_its_files_flat(registry: Registry, tag_dir: Path) -> None:
    replace(
        "job/gen.yaml", "resources:\n  - bin/run.sh", "resource_dir: bin\nresources:\n  - run.sh"
    )(tag_dir)
    replace("job/gen.yaml", "exec: bash bin/run.sh", "exec: bash run.sh")(tag_dir)
    report = validate(registry)
    assert report.ok, [str(f) for f in report.findings]
