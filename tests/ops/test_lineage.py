"""Provenance, reproduction and the life of a production, on a real 4-step chain.

The chain runs on the local backend: ``gen`` (a generator) -> ``sim`` (also reads an external
background dataset) -> ``reco`` -> ``ana``. ``ana`` writes the code repository's frozen SHA and
the registry commit it was given, and the time, so its output can be traced and does not
reproduce; ``reco`` is deterministic and does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry as SchemaRegistry
from referencing import Resource

from shrek.catalogs.factory import local_catalog_path, open_catalog
from shrek.catalogs.local import LocalCatalog
from shrek.core.lifecycle import tag_state
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.core.schema import load_schema, validator
from shrek.errors import ExitCode, ShrekError
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.provenance import provenance
from shrek.ops.reproduce import reproduce
from shrek.ops.tag import TagRequest, details, new_tag
from tests.conftest import git, write_step
from tests.ops.conftest import cli

TAG = "sP22aa-local"
BACKGROUND = "ext.background"


@pytest.fixture
def chain(runnable: Registry, tmp_path: Path) -> Registry:
    """The 4-step chain, frozen (its code repository pinned), not yet submitted."""
    tools = tmp_path / "tools"
    tools.mkdir()
    git(tools, "init", "-q", "-b", "main")
    (tools / "README").write_text("analysis tools\n")
    git(tools, "add", "README")
    git(tools, "commit", "-qm", "tools v1")
    tag_file = runnable.tag_dir(TAG) / "tag.yaml"
    data = yaml.safe_load(tag_file.read_text())
    data["code"] = [{"name": "ana-tools", "url": str(tools), "ref": "main"}]
    tag_file.write_text(yaml.safe_dump(data, sort_keys=False))
    one = {"max_attempts": 1}
    write_step(
        runnable,
        "gen",
        jobs=3,
        command='echo "event $SHREK_SEQ" > gen.txt',
        outputs=[{"name": "events", "files": "gen.txt"}],
        requirements=one,
    )
    write_step(
        runnable,
        "sim",
        inputs=[
            {"dataset": "gen.events", "files_per_job": 1},
            {"dataset": BACKGROUND, "files_per_job": 1, "secondary": True},
        ],
        command='cat "${IN1[@]}" "${IN2[@]}" > sim.txt',
        outputs=[{"name": "hits", "files": "sim.txt"}],
        requirements=one,
    )
    write_step(
        runnable,
        "reco",
        inputs=[{"dataset": "sim.hits", "files_per_job": 1}],
        command='tr a-z A-Z < "${IN1[0]}" > reco.txt',
        outputs=[{"name": "dst", "files": "reco.txt"}],
        requirements=one,
    )
    write_step(
        runnable,
        "ana",
        inputs=[{"dataset": "reco.dst", "files_per_job": 1}],
        command=(
            'wc -c < "${IN1[0]}" > ana.txt\n'
            'echo "code $SHREK_CODE_ANA_TOOLS_SHA registry $SHREK_REGISTRY_COMMIT" >> ana.txt\n'
            'echo "submission $SHREK_SUBMISSION freeze $SHREK_FREEZE_DIGEST" >> ana.txt\n'
            "date +%s%N >> ana.txt"
        ),
        outputs=[{"name": "hist", "files": "ana.txt"}],
        requirements=one,
    )
    background = tmp_path / "background"
    background.mkdir()
    for n in range(1, 3):
        (background / f"bg_{n}.txt").write_text(f"background {n}\n")
    add_files(open_catalog(runnable), BACKGROUND, sorted(background.iterdir()))
    git(runnable.root, "add", "-A")
    git(runnable.root, "commit", "-qm", "test: the 4-step chain")
    freeze(runnable, TAG)
    return runnable


@pytest.fixture
def ran(chain: Registry) -> Registry:
    """The chain submitted whole and done."""
    done = cli(chain, "submit", "sP22aa", "-q")
    assert done.returncode == 0, done.stderr
    return chain


def _store_files(registry: Registry, step: str) -> list[Path]:
    (record,) = [r for r in load_records(registry.tag_dir(TAG), step)][:1]
    dataset = next(iter(record.data["datasets"]["outputs"].values()))
    return sorted((registry.state_dir / "store" / dataset).iterdir())


def test_provenance_names_the_tag_step_submission_commit_and_code(ran: Registry) -> None:
    (record,) = load_records(ran.tag_dir(TAG), "ana")
    frozen = yaml.safe_load((ran.tag_dir(TAG) / "freeze.yaml").read_text())
    code_sha = frozen["code"][0]["commit"]
    journal = record.data["submitted"]["journal_commit"]
    # the journal commit is the one that added the record, in state 'submitting'
    added = git(ran.root, "log", "--format=%H", "--diff-filter=A", "--", record.path).split()
    assert added == [journal]
    output = _store_files(ran, "ana")[0]
    # the job itself was told where it comes from
    text = output.read_text()
    assert f"code {code_sha} registry {journal}" in text
    assert f"submission {record.data['id']} freeze {frozen['digest']}" in text

    node = provenance(ran, str(output))
    assert node.kind == "file" and node.origin is not None and node.job is not None
    assert (node.origin.tag, node.origin.step) == (TAG, "ana")
    assert node.origin.submission == f"{TAG}/ana/0001" == node.job["submission"]
    assert node.origin.record == f"tags/{TAG}/submissions/ana/0001.yaml"
    assert node.origin.registry_commit == journal == node.job["registry_commit"]
    assert node.origin.freeze_digest == frozen["digest"] == node.job["freeze_digest"]
    assert node.origin.code[0]["commit"] == code_sha == node.job["code"][0]["commit"]
    first, last = record.data["sequences"]["ana"].values()
    assert first <= node.job["sequence"] <= last and node.job["exit_status"] == 0
    (reco_input,) = node.job["inputs"]
    assert reco_input["input"] == "reco.dst" and reco_input["checksum"].startswith("sha256:")

    # by file name, and the dataset by its names (local, Rucio scope:name, container slash)
    assert provenance(ran, output.name).job == node.job
    dataset = record.data["datasets"]["outputs"]["hist"]
    for spelling in (dataset, f"user.jdoe:{dataset}", f"{dataset}/"):
        assert provenance(ran, spelling).origin.submission == node.origin.submission

    # a file of the external input: no submission made it
    external = provenance(ran, "bg_1.txt")
    assert (external.kind, external.dataset, external.origin) == ("external", BACKGROUND, None)

    # --tree: back through reco, sim and gen to the external background
    tree = provenance(ran, str(output), tree=True)
    steps, externals = [], []

    def walk(item) -> None:
        if item.kind == "external":
            externals.append(item.dataset)
        elif item.origin is not None:
            steps.append(item.origin.step)
        for child in item.inputs:
            walk(child)

    walk(tree)
    assert steps == ["ana", "reco", "sim", "gen"]
    assert externals == [BACKGROUND]


def test_provenance_cli_json_matches_its_schema_and_unknown_names_exit_4(ran: Registry) -> None:
    output = _store_files(ran, "ana")[0]
    done = cli(ran, "provenance", str(output), "--tree", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    schemas = SchemaRegistry().with_resources(
        [
            (load_schema(kind)["$id"], Resource.from_contents(load_schema(kind)))
            for kind in ("provenance", "output/provenance")
        ]
    )
    checker = Draft202012Validator(load_schema("output/provenance"), registry=schemas)
    assert not [e.message for e in checker.iter_errors(data)]
    text = cli(ran, "provenance", str(output), "--tree")
    assert text.returncode == 0 and "<- " in text.stdout and BACKGROUND in text.stdout
    # a damaged provenance file is named, never a traceback
    stored = next((ran.state_dir / "store" / ".provenance").rglob("*.json"))
    stored.write_text(stored.read_text().replace('"exit_status":0', '"exit_status":"zero"'))
    damaged = cli(ran, "provenance", str(stored))
    assert damaged.returncode == ExitCode.INVALID and "is damaged (exit_status" in damaged.stderr
    assert "Traceback" not in damaged.stderr
    unknown = cli(ran, "provenance", "prod.nothing.s0001")
    assert unknown.returncode == ExitCode.NOT_FOUND
    assert "neither an output file nor a dataset" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_every_job_writes_a_provenance_file_that_matches_its_schema(ran: Registry) -> None:
    files = sorted((ran.state_dir / "store" / ".provenance").rglob("*.json"))
    assert len(files) == 3 * 4  # 3 jobs in each of the 4 steps
    check = validator("provenance")
    for path in files:
        data = json.loads(path.read_text())
        assert not [e.message for e in check.iter_errors(data)], path
    catalog = LocalCatalog(local_catalog_path(ran))
    for step in ("gen", "sim", "reco", "ana"):
        for output in _store_files(ran, step):
            assert catalog.provenance(output.parent.name, output.name)
        # kept out of the declared outputs: each dataset holds its three outputs, nothing else
        assert len(_store_files(ran, step)) == 3


def test_a_failed_job_writes_its_provenance_too(chain: Registry) -> None:
    write_step(
        chain,
        "gen",
        jobs=1,
        command="echo no luck >&2; exit 3",
        outputs=[{"name": "events", "files": "gen.txt"}],
    )
    (chain.tag_dir(TAG) / "freeze.yaml").unlink()
    git(chain.root, "add", "-A")
    git(chain.root, "commit", "-qm", "test: a failing generator")
    freeze(chain, TAG)
    done = cli(chain, "submit", "sP22aa/gen", "-q")
    assert done.returncode == ExitCode.BACKEND
    (written,) = (chain.state_dir / "runs").rglob("shrek-provenance.json")
    data = json.loads(written.read_text())
    assert data["exit_status"] == 3 and data["outputs"] == []
    assert not list(validator("provenance").iter_errors(data))
    # a job's provenance file, asked about directly: where a failed job came from
    node = provenance(chain, str(written))
    assert node.job == data and node.origin is not None
    assert node.origin.submission == f"{TAG}/gen/0001" and node.origin.state == "failed"
    # and run again here to debug it: the same failure, its log, the original's exit
    again = reproduce(chain, "sP22aa/gen", data["sequence"])
    assert (again.exit_status, again.original_exit, again.identical) == (3, 3, False)
    assert any("no luck" in line for line in again.stderr_tail)
    assert [o.verdict for o in again.outputs] == ["not catalogued"]


def test_reproduce_says_identical_or_names_what_differs(ran: Registry, tmp_path: Path) -> None:
    head = git(ran.root, "rev-parse", "HEAD")
    (reco,) = load_records(ran.tag_dir(TAG), "reco")
    job = reco.data["sequences"]["reco"]["first"] + 1
    same = reproduce(ran, "sP22aa/reco", job, keep=tmp_path / "kept")
    assert same.identical and same.exit_status == 0 and same.original_exit == 0
    assert [(o.output, o.verdict) for o in same.outputs] == [("dst", "identical")]
    assert (tmp_path / "kept" / "reco.sh").is_file()  # --keep: the run stays to look at
    origin = (tmp_path / "kept" / "shrek-origin.txt").read_text()
    assert reco.data["submitted"]["journal_commit"] in origin

    (ana,) = load_records(ran.tag_dir(TAG), "ana")
    clock = cli(ran, "reproduce", "sP22aa/ana", "--job", str(ana.data["sequences"]["ana"]["first"]))
    assert clock.returncode == ExitCode.NOT_REPRODUCED, clock.stderr
    assert "hist: differs (" in clock.stdout and "checksum adler32:" in clock.stdout
    # it never touches the records, and leaves no worktree behind
    assert git(ran.root, "rev-parse", "HEAD") == head
    assert git(ran.root, "status", "--porcelain") == ""
    assert len(git(ran.root, "worktree", "list").splitlines()) == 1

    inside = cli(ran, "reproduce", "sP22aa/reco", "--job", str(job), "--keep", "kept")
    assert inside.returncode == ExitCode.USAGE and "inside the registry" in inside.stderr
    unknown = cli(ran, "reproduce", "sP22aa/reco", "--job", "999")
    assert unknown.returncode == ExitCode.NOT_FOUND and "999" in unknown.stderr
    typo = cli(ran, "reproduce", "sP22aa/rceo", "--job", "1")
    assert typo.returncode == ExitCode.NOT_FOUND and "did you mean 'reco'" in typo.stderr


def test_invalidating_a_middle_step_refuses_its_readers(ran: Registry) -> None:
    done = cli(ran, "invalidate", "sP22aa/sim", "--reason", "wrong background mixing")
    assert done.returncode == 0, done.stderr
    (sim,) = load_records(ran.tag_dir(TAG), "sim")
    dataset = sim.data["datasets"]["outputs"]["hits"]
    assert f"dataset {dataset}: invalid" in done.stdout
    refused = cli(ran, "submit", "sP22aa/reco", "--again")
    assert refused.returncode == ExitCode.INVALIDATED, refused.stderr
    assert "invalidated: wrong background mixing" in refused.stderr
    assert "shrek submit sP22aa/sim --again" in refused.stderr
    # shown everywhere: status, tag show, dataset list, the catalogue, the tag's README
    status = cli(ran, "status", "--no-commit", "--json")
    rows = {r["step"]: r for r in json.loads(status.stdout)}
    assert rows["sim"]["invalid"] == "wrong background mixing" and rows["reco"]["invalid"] == ""
    shown = details(ran, TAG)
    assert [s["invalid"] for s in shown["submissions"] if s["step"] == "sim"] == [
        "wrong background mixing"
    ]
    tags = cli(ran, "tag", "list")
    assert "submitted (1 invalid)" in tags.stdout  # sim has no valid submission now
    listed = cli(ran, "dataset", "list")
    assert f"{dataset}" in listed.stdout and "INVALID: wrong background mixing" in listed.stdout
    assert LocalCatalog(local_catalog_path(ran)).invalid() == {dataset: "wrong background mixing"}
    assert "**invalid**: wrong background mixing" in (ran.tag_dir(TAG) / "README.md").read_text()
    again = cli(ran, "invalidate", "sP22aa/sim/0001", "--reason", "twice")
    assert again.returncode == ExitCode.NOTHING_TO_DO
    # an event is append-only: verify names one edited after its commit
    event = ran.tag_dir(TAG) / "lifecycle" / "0001.yaml"
    event.write_text(event.read_text().replace("wrong background mixing", "nothing wrong"))
    verified = cli(ran, "verify")
    assert verified.returncode != 0 and "lifecycle/0001.yaml" in verified.stderr
    assert "changed or deleted after it was committed" in verified.stderr
    git(ran.root, "checkout", "--", str(event))
    # a hand-made event that is not one is a validation finding at its file and line
    (event.parent / "0002.yaml").write_text("kind: [oops\n")
    validated = cli(ran, "validate")
    assert (
        validated.returncode == ExitCode.INVALID and "lifecycle/0002.yaml:2:1" in validated.stderr
    )
    (event.parent / "0002.yaml").unlink()
    # a fresh sim makes valid outputs, which reco may read again
    assert cli(ran, "submit", "sP22aa/sim", "--again", "-q").returncode == 0
    assert cli(ran, "submit", "sP22aa/reco", "--again", "-q").returncode == 0
    assert git(ran.root, "status", "--porcelain") == ""


def test_extend_continues_the_sequence_numbers(ran: Registry) -> None:
    refused = cli(ran, "extend", "sP22aa/sim", "--jobs", "2")
    assert refused.returncode == ExitCode.USAGE and "cannot be given more jobs" in refused.stderr
    done = cli(ran, "extend", "sP22aa/gen", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    first, second = load_records(ran.tag_dir(TAG), "gen")
    assert second.data["extends"] == first.data["id"]
    used = [
        (r.data["sequences"][r.step]["first"], r.data["sequences"][r.step]["last"])
        for r in load_records(ran.tag_dir(TAG))
        if r.data["id"] != second.data["id"]
    ]
    start, end = second.data["sequences"]["gen"].values()
    assert start == max(last for _, last in used) + 1 and end == start + 1  # 2 more jobs
    assert second.data["jobs"]["total"] == 2 and second.state == "done"
    shown = details(ran, TAG)
    assert shown["lineage"]["extensions"] == {second.data["id"]: first.data["id"]}


def test_extend_needs_a_done_submission(chain: Registry) -> None:
    refused = cli(chain, "extend", "sP22aa/gen", "--jobs", "2")
    assert refused.returncode == ExitCode.LIFECYCLE, refused.stderr
    assert "frozen" in refused.stderr and "shrek submit" in refused.stderr


def test_supersede_refuses_production_submissions_of_the_old_tag(ran: Registry) -> None:
    new_tag(ran, TagRequest(label="sP22ab", build="local", parent="sP22aa"))
    draft = cli(ran, "supersede", "sP22aa", "--by", "sP22ab", "--reason", "fixed seeds")
    assert draft.returncode == ExitCode.LIFECYCLE and "freeze sP22ab-local" in draft.stderr
    freeze(ran, "sP22ab-local")
    done = cli(ran, "supersede", "sP22aa", "--by", "sP22ab", "--reason", "fixed seeds")
    assert done.returncode == 0, done.stderr
    assert tag_state(ran.tag_dir(TAG)) == "superseded"
    listed = cli(ran, "tag", "list", "--json")
    states = {t["label"]: t["state"] for t in json.loads(listed.stdout)}
    assert states == {"sP22aa": "superseded", "sP22ab": "frozen"}
    refused = cli(ran, "submit", "sP22aa/gen", "--again")
    assert refused.returncode == ExitCode.SUPERSEDED and "sP22ab-local" in refused.stderr
    assert cli(ran, "submit", "sP22aa/gen", "--test", "-q").returncode == 0
    twice = cli(ran, "supersede", "sP22aa", "--by", "sP22ab", "--reason", "again")
    assert twice.returncode == ExitCode.LIFECYCLE and "already superseded" in twice.stderr
    status = cli(ran, "status", "--no-commit", "sP22aa")
    assert f"{TAG} is superseded by sP22ab-local" in status.stdout
    history = json.loads(cli(ran, "log", "sP22aa", "--json").stdout)
    assert "superseded" in [entry["kind"] for entry in history]
    shown = cli(ran, "tag", "show", "sP22ab")
    assert "supersedes:  sP22aa-local" in shown.stdout
    assert details(ran, TAG)["lineage"]["superseded_by"] == "sP22ab-local"
    readme = (ran.tag_dir(TAG) / "README.md").read_text()
    assert "| superseded by | [sP22ab-local](../sP22ab-local/README.md) |" in readme
    assert git(ran.root, "status", "--porcelain") == ""


def test_tag_state_follows_the_life_of_a_production(chain: Registry) -> None:
    assert tag_state(chain.tag_dir(TAG)) == "frozen"
    assert cli(chain, "submit", "sP22aa/gen", "--test", "-q").returncode == 0
    assert tag_state(chain.tag_dir(TAG)) == "frozen"  # a test is not a production
    assert cli(chain, "submit", "sP22aa/gen", "-q").returncode == 0
    assert tag_state(chain.tag_dir(TAG)) == "submitted"  # sim, reco, ana not yet
    assert cli(chain, "submit", "sP22aa/sim", "-q").returncode == 0
    assert cli(chain, "submit", "sP22aa/reco", "-q").returncode == 0
    assert cli(chain, "submit", "sP22aa/ana", "-q").returncode == 0
    assert tag_state(chain.tag_dir(TAG)) == "done"
    assert cli(chain, "invalidate", "sP22aa/ana", "--reason", "r").returncode == 0
    assert tag_state(chain.tag_dir(TAG)) == "submitted"  # ana has no valid submission
    assert cli(chain, "invalidate", "sP22aa", "--reason", "all of it").returncode == 0
    assert tag_state(chain.tag_dir(TAG)) == "invalidated"
    with pytest.raises(ShrekError) as refused:
        provenance(chain, "no-such-file.txt")
    assert refused.value.code == ExitCode.NOT_FOUND


def test_a_refused_commit_leaves_no_event_behind(ran: Registry) -> None:
    hook = ran.root / ".git" / "hooks" / "commit-msg"
    hook.write_text('#!/bin/sh\ngrep -q "^shrek: invalidate " "$1" && exit 1\nexit 0\n')
    hook.chmod(0o755)
    refused = cli(ran, "invalidate", "sP22aa/sim", "--reason", "wrong")
    assert refused.returncode == ExitCode.GIT and "Traceback" not in refused.stderr
    assert not (ran.tag_dir(TAG) / "lifecycle").exists() or not any(
        (ran.tag_dir(TAG) / "lifecycle").iterdir()
    )
    assert git(ran.root, "status", "--porcelain") == ""  # the README is as it was, too
    hook.unlink()
    lock = ran.root / ".git" / "index.lock"
    new_tag(ran, TagRequest(label="sP22ab", build="local", parent="sP22aa"))
    freeze(ran, "sP22ab-local")
    lock.touch()
    locked = cli(ran, "supersede", "sP22aa", "--by", "sP22ab", "--reason", "fixed")
    assert locked.returncode == ExitCode.GIT and "index.lock" in locked.stderr
    lock.unlink()
    assert git(ran.root, "status", "--porcelain") == ""
    assert tag_state(ran.tag_dir(TAG)) == "done"  # nothing was recorded: nothing changed
    assert cli(ran, "invalidate", "sP22aa/sim", "--reason", "wrong").returncode == 0


def test_invalidation_travels_downstream(ran: Registry) -> None:
    assert cli(ran, "invalidate", "sP22aa/sim", "--reason", "wrong mixing").returncode == 0
    taint = f"derived from {TAG}/sim/0001, invalidated: wrong mixing"
    # every view names what is derived from the invalid outputs, and the invalid ancestor
    rows = {r["step"]: r for r in json.loads(cli(ran, "status", "--json").stdout)}
    assert rows["sim"]["tainted"] == "" and rows["sim"]["invalid"] == "wrong mixing"
    assert rows["reco"]["tainted"] == taint and rows["ana"]["tainted"] == taint
    assert rows["gen"]["tainted"] == ""
    status = cli(ran, "status")
    assert f"{TAG}/ana #0001: TAINTED: {taint}" in status.stdout
    assert "done TAINTED" in status.stdout
    listed = json.loads(cli(ran, "tag", "list", "--json").stdout)
    assert [(t["invalid"], t["tainted"]) for t in listed] == [(1, 2)]
    assert "(1 invalid) (2 tainted)" in cli(ran, "tag", "list").stdout
    shown = details(ran, TAG)
    assert shown["tainted"] == 2
    assert {s["step"]: s["tainted"] for s in shown["submissions"]}["ana"] == taint
    (reco,) = load_records(ran.tag_dir(TAG), "reco")
    dst = reco.data["datasets"]["outputs"]["dst"]
    datasets = {d["name"]: d for d in json.loads(cli(ran, "dataset", "list", "--json").stdout)}
    assert datasets[dst]["tainted"] == taint and datasets[dst]["invalid"] == ""
    assert f"TAINTED: {taint}" in cli(ran, "dataset", "show", dst).stdout
    # reading tainted outputs is refused, unless said so; the choice is recorded
    refused = cli(ran, "submit", "sP22aa/ana", "--again")
    assert refused.returncode == ExitCode.INVALIDATED, refused.stderr
    assert f"reads {dst}, which is tainted: {taint}" in refused.stderr
    assert "--accept-tainted" in refused.stderr
    again = cli(ran, "submit", "sP22aa/ana", "--accept-tainted", "--reread", "-q")
    assert again.returncode == 0, again.stderr
    newest = load_records(ran.tag_dir(TAG), "ana")[-1]
    assert newest.data["tainted_inputs"] == {dst: taint}
    assert newest.data["reread"] == [f"{TAG}/ana/0001"]
    # the fix the refusal printed: 'submit TAG' runs again every step not validly done
    rest = cli(ran, "submit", "sP22aa", "-q")
    assert rest.returncode == 0, rest.stderr
    assert "skipped gen #0001: done" in rest.stdout
    assert [len(load_records(ran.tag_dir(TAG), s)) for s in ("gen", "sim", "reco", "ana")] == [
        1,
        2,
        2,
        3,
    ]
    rows = [r for r in json.loads(cli(ran, "status", "--json").stdout) if r["number"] == 2]
    assert all(r["tainted"] == "" for r in rows if r["step"] in ("sim", "reco"))


def test_the_same_inputs_are_not_read_twice_by_accident(ran: Registry) -> None:
    assert cli(ran, "extend", "sP22aa/gen", "--jobs", "2").returncode == 0
    first = cli(ran, "submit", "sP22aa/sim", "--again", "-q")
    assert first.returncode == 0, first.stderr  # the extension's new files
    twice = cli(ran, "submit", "sP22aa/sim", "--again")
    assert twice.returncode == ExitCode.ALREADY
    (_, second) = load_records(ran.tag_dir(TAG), "sim")
    read = second.data["datasets"]["inputs"]["gen.events"]
    assert f"{TAG}/sim #0002 already read {read}" in twice.stderr
    assert "--reread" in twice.stderr
    assert len(load_records(ran.tag_dir(TAG), "sim")) == 2  # nothing journalled
    assert cli(ran, "submit", "sP22aa/sim", "--reread", "-q").returncode == 0
    assert load_records(ran.tag_dir(TAG), "sim")[-1].data["reread"] == [f"{TAG}/sim/0002"]
