"""Freeze and verify on real git repositories: local bare repositories stand in for the code."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
import yaml

from shrek.catalogs.factory import open_catalog
from shrek.core.freeze import compute
from shrek.core.hashing import adler32_file, sha256_file
from shrek.core.layout import FREEZE_FILE
from shrek.core.model import load_tag
from shrek.core.registry import Registry
from shrek.errors import ExitCode, ShrekError
from shrek.git import resolve_ref
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.tag import TagRequest, new_tag
from tests.conftest import git

TAG = "sP22aa-mdc2.7"
BACKGROUND = "mdc2.pythia8_pp_mb.g4hits"


def make_code_repo(root: Path) -> tuple[Path, Path]:
    """A bare repository with a branch, a lightweight and an annotated tag; and a clone."""
    bare = root / "macros.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    work = root / "macros-work"
    git(root, "clone", "-q", str(bare), str(work))
    (work / "Fun4All.C").write_text("// v1\n")
    git(work, "add", ".")
    git(work, "commit", "-qm", "v1")
    git(work, "tag", "light")
    git(work, "tag", "-a", "-m", "release", "v1.0")
    git(work, "push", "-q", "origin", "HEAD:main", "light", "v1.0")
    return bare, work


def move_branch(work: Path) -> str:
    (work / "Fun4All.C").write_text("// v2\n")
    git(work, "commit", "-qam", "v2")
    git(work, "push", "-q", "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


@pytest.fixture
def code(tmp_path: Path) -> tuple[Path, Path]:
    return make_code_repo(tmp_path)


@pytest.fixture
def background(tmp_path: Path) -> list[Path]:
    directory = tmp_path / "bkg"
    directory.mkdir()
    files = []
    for n in range(1, 6):
        path = directory / f"G4Hits_mb_{n:05d}.root"
        path.write_bytes(bytes([n]) * (1000 + n))
        files.append(path)
    return files


@pytest.fixture
def tag_ready(registry: Registry, code, background) -> Registry:
    """The hfprod template tag, its code pointing at the local bare repository, committed."""
    bare, _ = code
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="mdc2.7", template="hfprod"))
    tag_yaml = registry.tag_dir(TAG) / "tag.yaml"
    data = yaml.safe_load(tag_yaml.read_text())
    data["code"] = [
        {"name": "macros", "url": str(bare), "ref": "main"},
        {"name": "release", "url": f"file://{bare}", "ref": "v1.0"},
    ]
    tag_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    git(registry.root, "commit", "-qam", "point the code at the test repository")
    add_files(open_catalog(registry), BACKGROUND, background)
    return registry


def commit_all(registry: Registry, message: str = "edit") -> None:
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "-qm", message)


# -- resolving code refs ------------------------------------------------------------------


def test_refs_resolve_to_full_shas(code) -> None:
    bare, work = code
    head = git(work, "rev-parse", "HEAD")
    assert resolve_ref(str(bare), "main") == head
    assert resolve_ref(f"file://{bare}", "refs/heads/main") == head
    assert resolve_ref(str(bare), "light") == head
    assert resolve_ref(str(bare), "v1.0") == head  # annotated: peeled to the commit
    assert resolve_ref(str(bare), head) == head


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nope", "ref 'nope' does not exist in"),
        ("abc1234", "give the full 40-character commit SHA"),
        ("0" * 40, "does not exist in"),
    ],
)
def test_unresolvable_refs_name_repository_and_ref(code, ref: str, message: str) -> None:
    bare, _ = code
    with pytest.raises(ShrekError) as caught:
        resolve_ref(str(bare), ref)
    assert message in str(caught.value)
    assert str(bare) in caught.value.message


def test_unreachable_repository(tmp_path: Path) -> None:
    with pytest.raises(ShrekError, match="cannot list the refs of") as caught:
        resolve_ref(str(tmp_path / "missing.git"), "main")
    assert caught.value.code == ExitCode.GIT


# -- freezing -------------------------------------------------------------------------------


def test_freeze_records_everything_and_commits(tag_ready: Registry, code, shrek) -> None:
    registry = tag_ready
    _, work = code
    result = shrek("freeze", "sP22aa", cwd=registry.root)
    assert result.code == 0, result.err
    frozen = yaml.safe_load((registry.tag_dir(TAG) / FREEZE_FILE).read_text())
    head = git(work, "rev-parse", "HEAD")
    assert [(c["name"], c["ref"], c["commit"]) for c in frozen["code"]] == [
        ("macros", "main", head),
        ("release", "v1.0", head),
    ]
    assert (
        frozen["build"]["name"] == "mdc2.7"
        and "sphenix_setup.sh -n mdc2.7" in (frozen["build"]["setup"])
    )
    assert [d["path"] for d in frozen["definitions"]] == [
        "tag.yaml",
        "job/hfprod-pass1.yaml",
        "job/hfprod-pass2.yaml",
    ]
    assert [r["path"] for r in frozen["resources"]] == [
        "bin/run_hfprod.sh",
        "bin/run_pass2.sh",
        "macros/Fun4All_G4_HF_pp_signal.C",
        "macros/Fun4All_G4_Pileup_pp.C",
    ]
    resource = registry.tag_dir(TAG) / "bin" / "run_hfprod.sh"
    assert frozen["resources"][0]["sha256"] == hashlib.sha256(resource.read_bytes()).hexdigest()
    (entry,) = frozen["inputs"]
    assert entry["dataset"] == BACKGROUND and entry["files"] == 5
    assert entry["bytes"] == sum(1000 + n for n in range(1, 6))
    listing = (registry.tag_dir(TAG) / entry["list"]).read_text().splitlines()
    assert listing == sorted(listing) and len(listing) == 5
    assert listing[0].startswith("G4Hits_mb_00001.root 1001 adler32:")
    assert frozen["frozen"]["by"] == "Test Manager <manager@sphenix.invalid>"
    assert frozen["frozen"]["registry_commit"] == git(registry.root, "rev-parse", "HEAD~1")
    assert frozen["schemas"] == {"registry": 1, "tag": 1, "step": 1}
    message = git(registry.root, "log", "-1", "--format=%B")
    assert message.startswith(f"shrek: freeze {TAG} (sha256:") and frozen["digest"] in message
    assert git(registry.root, "status", "--porcelain") == ""
    shown = shrek("tag", "show", "sP22aa", cwd=registry.root).out
    assert "[frozen]" in shown and frozen["digest"] in shown and f"= {head}" in shown


def test_refreeze_of_unchanged_tag_changes_nothing(tag_ready: Registry, shrek) -> None:
    registry = tag_ready
    first = freeze(registry, TAG)
    before = (registry.tag_dir(TAG) / FREEZE_FILE).read_bytes()
    head = git(registry.root, "rev-parse", "HEAD")
    result = shrek("freeze", "sP22aa", cwd=registry.root)
    assert result.code == 0 and "already frozen with identical content" in result.out
    assert first.digest in result.out
    assert (registry.tag_dir(TAG) / FREEZE_FILE).read_bytes() == before
    assert git(registry.root, "rev-parse", "HEAD") == head


def test_digest_is_the_same_on_another_machine_and_path(
    tag_ready: Registry, tmp_path: Path, background, monkeypatch
) -> None:
    registry = tag_ready
    other_root = tmp_path / "elsewhere" / "deeper" / "clone"
    git(tmp_path, "clone", "-q", str(registry.root), str(other_root))
    first = freeze(registry, TAG)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Someone Else")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Someone Else")
    other = Registry.open(other_root)
    copies = tmp_path / "bkg-copy"
    shutil.copytree(background[0].parent, copies)
    add_files(open_catalog(other), BACKGROUND, sorted(copies.iterdir()))
    second = freeze(other, TAG)
    assert second.digest == first.digest
    mine = yaml.safe_load((registry.tag_dir(TAG) / FREEZE_FILE).read_text())
    theirs = yaml.safe_load((other.tag_dir(TAG) / FREEZE_FILE).read_text())
    assert mine["frozen"]["by"] != theirs["frozen"]["by"]
    assert {k: v for k, v in mine.items() if k != "frozen"} == {
        k: v for k, v in theirs.items() if k != "frozen"
    }


@pytest.mark.parametrize(
    ("case", "subject", "message"),
    [
        ("definition", "tags/sP22aa-mdc2.7/job/hfprod-pass1.yaml", "definition changed: sha256 "),
        ("resource", "tags/sP22aa-mdc2.7/bin/run_hfprod.sh", "resource changed: sha256 "),
        ("glob", "tags/sP22aa-mdc2.7/macros/Fun4All_extra.C", "resource added since the freeze"),
        ("removed-step", "tags/sP22aa-mdc2.7/job/hfprod-pass2.yaml", "definition removed"),
        ("code", "code macros", "ref 'main' now points to "),
        ("dataset-gain", f"dataset {BACKGROUND}", "gained 1 file(s): G4Hits_mb_00006.root"),
        (
            "dataset-change",
            f"dataset {BACKGROUND}",
            "1 file(s) changed size or checksum: G4Hits_mb_00001.root",
        ),
        ("build", "build", "'mdc2.7' set-up changed in shrek.yaml"),
        (
            "list-edited",
            f"tags/sP22aa-mdc2.7/inputs/{BACKGROUND}.files",
            "frozen file list was edited",
        ),
    ],
)
def test_verify_names_each_drift(
    tag_ready: Registry, code, background, shrek, case: str, subject: str, message: str
) -> None:
    registry = tag_ready
    tag_dir = registry.tag_dir(TAG)
    if case == "glob":  # a step whose resources use a glob; the freeze must see new matches
        step = tag_dir / "job" / "hfprod-pass1.yaml"
        step.write_text(
            step.read_text().replace("  - macros/Fun4All_G4_HF_pp_signal.C", "  - macros/*.C")
        )
        commit_all(registry)
    freeze(registry, TAG)
    assert shrek("verify", cwd=registry.root).code == 0
    old_hash = sha256_file(tag_dir / "bin" / "run_hfprod.sh").sha256
    if case == "definition":
        step = tag_dir / "job" / "hfprod-pass1.yaml"
        step.write_text(step.read_text().replace("nevents: 1", "nevents: 2"))
    elif case == "resource":
        with open(tag_dir / "bin" / "run_hfprod.sh", "a") as handle:
            handle.write("# changed\n")
    elif case == "glob":
        (tag_dir / "macros" / "Fun4All_extra.C").write_text("// new\n")
    elif case == "removed-step":
        (tag_dir / "job" / "hfprod-pass2.yaml").unlink()
    elif case == "code":
        move_branch(code[1])
    elif case == "dataset-gain":
        extra = background[0].parent / "G4Hits_mb_00006.root"
        extra.write_bytes(b"more")
        add_files(open_catalog(registry), BACKGROUND, [extra])
    elif case == "dataset-change":
        catalog = registry.state_dir / "catalog.sqlite"
        import sqlite3

        with sqlite3.connect(catalog) as db:
            db.execute(
                "UPDATE files SET checksum = 'adler32:00000000' WHERE name = ?",
                ("G4Hits_mb_00001.root",),
            )
    elif case == "build":
        settings = registry.root / "shrek.yaml"
        settings.write_text(settings.read_text().replace("-n mdc2.7", "-n mdc2.7.1"))
    elif case == "list-edited":
        listing = tag_dir / "inputs" / f"{BACKGROUND}.files"
        listing.write_text(listing.read_text() + "\n")
    result = shrek("verify", "--json", cwd=registry.root)
    assert result.code == ExitCode.DRIFT
    (report,) = json.loads(result.out)
    assert report["ok"] is False
    matching = [d for d in report["drifts"] if d["subject"] == subject]
    assert matching and message in matching[0]["message"], report["drifts"]
    if case == "resource":
        new_hash = sha256_file(tag_dir / "bin" / "run_hfprod.sh").sha256
        assert matching[0]["message"] == f"resource changed: sha256 {old_hash} -> {new_hash}"
    human = shrek("verify", "sP22aa", cwd=registry.root)
    assert human.code == ExitCode.DRIFT and "DRIFTED" in human.err and subject in human.err


def test_a_frozen_tag_refuses_a_different_refreeze(tag_ready: Registry, shrek) -> None:
    registry = tag_ready
    freeze(registry, TAG)
    step = registry.tag_dir(TAG) / "job" / "hfprod-pass1.yaml"
    step.write_text(step.read_text().replace("jobs: 10", "jobs: 20"))
    commit_all(registry)
    result = shrek("freeze", "sP22aa", cwd=registry.root)
    assert result.code == ExitCode.CONFLICT
    assert "is frozen" in result.err and "job/hfprod-pass1.yaml: definition changed" in result.err
    assert "shrek tag new --from sP22aa" in result.err


def test_validate_fails_for_an_edited_frozen_tag(tag_ready: Registry, shrek) -> None:
    registry = tag_ready
    freeze(registry, TAG)
    assert shrek("validate", cwd=registry.root).code == 0
    step = registry.tag_dir(TAG) / "job" / "hfprod-pass2.yaml"
    step.write_text(step.read_text().replace("files_per_job: 4", "files_per_job: 5"))
    result = shrek("validate", cwd=registry.root)
    assert result.code == ExitCode.INVALID
    assert result.err.startswith(
        f"tags/{TAG}/job/hfprod-pass2.yaml: error: tag {TAG} is frozen "
        "and this definition changed: sha256 "
    )
    assert "shrek tag new --from sP22aa" in result.err


def test_a_hand_edited_freeze_is_caught(tag_ready: Registry, shrek) -> None:
    registry = tag_ready
    freeze(registry, TAG)
    path = registry.tag_dir(TAG) / FREEZE_FILE
    path.write_text(path.read_text().replace("ref: main", "ref: other"))
    result = shrek("verify", cwd=registry.root)
    assert result.code == ExitCode.DRIFT and "edited by hand" in result.err
    path.write_text(path.read_text().replace("schema_version: 1", "schema_version: one"))
    result = shrek("validate", cwd=registry.root)
    assert result.code == ExitCode.INVALID and f"tags/{TAG}/freeze.yaml:4:17" in result.err


@pytest.mark.parametrize("problem", ["invalid", "dirty", "unknown-dataset", "bad-ref"])
def test_freeze_refuses(tag_ready: Registry, shrek, problem: str) -> None:
    registry = tag_ready
    tag_dir = registry.tag_dir(TAG)
    expected = {
        "invalid": (ExitCode.INVALID, "tag sP22aa-mdc2.7 is not valid"),
        "dirty": (ExitCode.GIT, "has uncommitted changes: tags/sP22aa-mdc2.7/notes.txt"),
        "unknown-dataset": (
            ExitCode.NOT_FOUND,
            "input of hfprod-pass2: dataset 'mdc2.other' is not in the local catalogue",
        ),
        "bad-ref": (ExitCode.INVALID, "ref 'no-such-branch' does not exist in"),
    }
    if problem == "invalid":
        step = tag_dir / "job" / "hfprod-pass1.yaml"
        step.write_text(step.read_text().replace("${nevents}", "${nevent}"))
        commit_all(registry)
    elif problem == "dirty":
        (tag_dir / "notes.txt").write_text("todo\n")
    elif problem == "unknown-dataset":
        step = tag_dir / "job" / "hfprod-pass2.yaml"
        step.write_text(step.read_text().replace(BACKGROUND, "mdc2.other"))
        commit_all(registry)
    elif problem == "bad-ref":
        path = tag_dir / "tag.yaml"
        path.write_text(path.read_text().replace("ref: main", "ref: no-such-branch"))
        commit_all(registry)
    result = shrek("freeze", "sP22aa", cwd=registry.root)
    code, message = expected[problem]
    assert result.code == code, result.err
    assert message in result.err
    assert not (tag_dir / FREEZE_FILE).exists() and not (tag_dir / "inputs").exists()


def test_dataset_commands(registry: Registry, background, shrek) -> None:
    root = registry.root
    result = shrek("dataset", "add", BACKGROUND, *map(str, background), cwd=root)
    assert result.code == 0 and "5 file(s), 5015 bytes" in result.out
    listed = json.loads(shrek("dataset", "list", "--json", cwd=root).out)
    assert [(d["name"], d["files"], d["bytes"]) for d in listed] == [(BACKGROUND, 5, 5015)]
    shown = json.loads(shrek("dataset", "show", BACKGROUND, "--json", cwd=root).out)
    assert shown["files"][0] == {
        "name": "G4Hits_mb_00001.root",
        "size": 1001,
        "checksum": f"adler32:{adler32_file(background[0])}",
        "location": str(background[0]),
    }
    assert shrek("dataset", "add", BACKGROUND, str(background[0]), cwd=root).code == 0
    background[0].write_bytes(b"different")
    clash = shrek("dataset", "add", BACKGROUND, str(background[0]), cwd=root)
    assert clash.code == ExitCode.CONFLICT and "already has a different file" in clash.err
    missing = shrek("dataset", "show", "mdc2.nope", cwd=root)
    assert missing.code == ExitCode.NOT_FOUND and "shrek dataset add mdc2.nope" in missing.err
    bad = shrek("dataset", "add", "bad name", str(background[1]), cwd=root)
    assert bad.code == ExitCode.USAGE and "not a valid dataset name" in bad.err


def test_dataset_add_from_a_list_and_standard_input(
    registry: Registry, background, shrek, tmp_path: Path, monkeypatch
) -> None:
    root = registry.root
    listing = tmp_path / "files.txt"
    listing.write_text("# the MDC2 background\n" + "".join(f"{p}\n\n" for p in background[:3]))
    result = shrek("dataset", "add", BACKGROUND, "--from-file", str(listing), cwd=root)
    assert result.code == 0 and "3 file(s)" in result.out, result.err
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{p}\n" for p in background[3:])))
    result = shrek("dataset", "add", BACKGROUND, str(background[0]), "-f", "-", cwd=root)
    assert result.code == 0 and "5 file(s)" in result.out, result.err
    missing = shrek("dataset", "add", BACKGROUND, "-f", str(tmp_path / "nope.txt"), cwd=root)
    assert missing.code == ExitCode.USAGE and "cannot read the list of files" in missing.err
    empty = shrek("dataset", "add", BACKGROUND, cwd=root)
    assert empty.code == ExitCode.USAGE and "no files given" in empty.err


def test_compute_is_independent_of_time(tag_ready: Registry) -> None:
    tag, _ = load_tag(tag_ready, TAG)
    catalog = open_catalog(tag_ready)
    assert compute(tag_ready, tag, catalog).digest == compute(tag_ready, tag, catalog).digest


def test_hashes_match_reference_implementations(tmp_path: Path) -> None:
    import zlib

    data = bytes(range(256)) * 20000  # 5 MB: several chunks
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path).sha256 == hashlib.sha256(data).hexdigest()
    assert sha256_file(path).size == len(data)
    assert adler32_file(path) == f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
