"""The Rucio catalogue against a real Rucio server started by the tests on 127.0.0.1.

The server is the ``rucio`` package (41.x) in its own environment (``make install-rucio-server``,
run by ``make test`` and CI). Where it is missing the tests fail loudly: they never pass
without having talked to a real Rucio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shrek.catalogs.factory import open_catalog
from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode
from shrek.ops.dataset import add_files
from shrek.ops.tag import TagRequest, new_tag
from tests.conftest import git

from .rucio_server import RucioServer, available

SCOPE, RSE = "sphenix", "SHREK_TEST_DISK"
TAG = "sP22aa-local"
BACKGROUND = "demo.minbias.background"


@pytest.fixture(scope="session")
def rucio_server(tmp_path_factory: pytest.TempPathFactory):
    missing = available()
    if missing:
        pytest.fail(f"cannot test against a real Rucio server: {missing}")
    server = RucioServer(tmp_path_factory.mktemp("rucio")).start()
    saved = os.environ.get("RUCIO_CONFIG")
    server.prepare(SCOPE, RSE)
    yield server
    server.stop()
    if saved is None:
        os.environ.pop("RUCIO_CONFIG", None)
    else:
        os.environ["RUCIO_CONFIG"] = saved


@pytest.fixture
def rucio_env(rucio_server: RucioServer, monkeypatch: pytest.MonkeyPatch) -> RucioServer:
    for key, value in rucio_server.client_environment().items():
        monkeypatch.setenv(key, value)
    return rucio_server


def rucio_client():
    from rucio.client import Client

    return Client()


@pytest.fixture
def rucio_registry(
    registry: Registry, rucio_env: RucioServer, tmp_path: Path, request: pytest.FixtureRequest
) -> Registry:
    """A registry on the Rucio catalogue with the demo tag; its background is a Rucio dataset
    (a new one per test, so tests stay independent on the shared server)."""
    suffix = request.node.name.replace("[", "_").replace("]", "").replace("-", "_")[-40:]
    settings = registry.root / "shrek.yaml"
    settings.write_text(
        settings.read_text().replace("catalog: local", "catalog: rucio")
        + (
            f"rucio:\n  host: {rucio_env.url}\n  auth_host: {rucio_env.url}\n  account: root\n"
            f"  auth_type: userpass\n  scope: {SCOPE}\n  rse: {RSE}\n"
        )
    )
    git(registry.root, "commit", "-qam", "use Rucio")
    registry = Registry.open(registry.root)
    dataset = f"{BACKGROUND}.{suffix}"
    created = new_tag(
        registry, TagRequest(label="sP22aa", skip_to=True, build="local", template="demo")
    )
    step = created.directory / "job" / "demo-pass2.yaml"
    step.write_text(step.read_text().replace(BACKGROUND, f"{SCOPE}:{dataset}"))
    git(registry.root, "commit", "-qam", "read the background from Rucio")
    files = []
    for n in range(1, 4):
        path = tmp_path / f"mb_{suffix}_{n}.txt"
        path.write_text(f"# background {n}\nminbias {n} {suffix}\n")
        files.append(path)
    add_files(open_catalog(registry), f"{SCOPE}:{dataset}", files)
    rucio_client().close(SCOPE, dataset)
    registry.rucio_dataset = dataset  # type: ignore[attr-defined] - for the tests below
    return registry


def test_dataset_commands_against_rucio(rucio_registry: Registry, shrek) -> None:
    dataset = rucio_registry.rucio_dataset
    listed = json.loads(shrek("dataset", "list", "--json", cwd=rucio_registry.root).out)
    entry = next(d for d in listed if d["name"] == f"{SCOPE}:{dataset}")
    assert entry["files"] == 3 and entry["bytes"] > 0
    shown = json.loads(
        shrek("dataset", "show", f"{SCOPE}:{dataset}", "--json", cwd=rucio_registry.root).out
    )
    first = shown["files"][0]
    assert first["checksum"].startswith("adler32:") and ",md5:" in first["checksum"]
    assert Path(first["location"]).is_file()  # a POSIX RSE: readable in place
    missing = shrek("dataset", "show", f"{SCOPE}:no.such.dataset", cwd=rucio_registry.root)
    assert missing.code == ExitCode.NOT_FOUND and "Rucio has no sphenix:no.such.dataset" in (
        missing.err
    )
    unknown_scope = shrek("dataset", "show", "nosuchscope:x", cwd=rucio_registry.root)
    assert unknown_scope.code == ExitCode.NOT_FOUND


def test_freeze_from_rucio_and_verify_catches_a_change(
    rucio_registry: Registry, shrek, tmp_path: Path
) -> None:
    dataset = rucio_registry.rucio_dataset
    result = shrek("freeze", "sP22aa", cwd=rucio_registry.root)
    assert result.code == 0, result.err
    frozen = __import__("yaml").safe_load((rucio_registry.tag_dir(TAG) / "freeze.yaml").read_text())
    (entry,) = frozen["inputs"]
    assert entry["did"] == f"{SCOPE}:{dataset}" and entry["files"] == 3
    assert entry["catalog"] == f"rucio {rucio_registry.settings['rucio']['host']}"
    listing = (rucio_registry.tag_dir(TAG) / entry["list"]).read_text().splitlines()
    assert all(",md5:" in line for line in listing)
    assert shrek("verify", cwd=rucio_registry.root).code == 0
    client = rucio_client()
    client.set_status(SCOPE, dataset, open=True)
    extra = tmp_path / "late.txt"
    extra.write_text("late background\n")
    add_files(open_catalog(rucio_registry), f"{SCOPE}:{dataset}", [extra])
    result = shrek("verify", cwd=rucio_registry.root)
    assert result.code == ExitCode.DRIFT
    assert f"dataset {SCOPE}:{dataset}: gained 1 file(s): late.txt" in result.err


def test_an_open_dataset_is_refused_unless_allowed(rucio_registry: Registry, shrek) -> None:
    dataset = rucio_registry.rucio_dataset
    rucio_client().set_status(SCOPE, dataset, open=True)
    result = shrek("freeze", "sP22aa", cwd=rucio_registry.root)
    assert result.code == ExitCode.INVALID
    assert f"Rucio dataset {SCOPE}:{dataset} is open" in result.err and "--allow-open" in (
        result.err
    )
    assert not (rucio_registry.tag_dir(TAG) / "freeze.yaml").exists()
    assert shrek("freeze", "sP22aa", "--allow-open", cwd=rucio_registry.root).code == 0


def test_two_steps_on_the_local_backend_with_outputs_in_rucio(
    rucio_registry: Registry, shrek
) -> None:
    assert shrek("freeze", "sP22aa", cwd=rucio_registry.root).code == 0
    submitted = shrek("submit", "sP22aa", cwd=rucio_registry.root)
    assert submitted.code == 0, submitted.err
    pass1, pass2 = load_records(rucio_registry.tag_dir(TAG))
    assert (pass1.state, pass2.state) == ("done", "done")
    client = rucio_client()
    for record, output in ((pass1, "events"), (pass2, "merged")):
        did = record.data["datasets"]["rucio"][output]
        scope, name = did.split(":")
        assert scope == SCOPE and name == record.data["datasets"]["outputs"][output]
        files = list(client.list_files(scope, name))
        assert len(files) == 4 and all(f["adler32"] for f in files)
        assert "outputs registered in Rucio" in record.data["history"][-1]["note"]
        # the dataset's provenance in Rucio's own columns; the JSON document where the server
        # keeps JSON metadata (this test server's SQLite does not: Rucio refuses, SHREK goes on)
        meta = client.get_metadata(scope, name)
        assert meta["campaign"] == TAG and meta["prod_step"] == record.step
        assert meta["version"] == record.data["submitted"]["journal_commit"]
        assert meta["stream_name"] == record.data["id"]
    # invalidating pass1 is committed; this Rucio cannot show it, and SHREK says so
    invalid = shrek(
        "invalidate", "sP22aa/demo-pass1", "--reason", "bad seeds", cwd=rucio_registry.root
    )
    assert invalid.code == 0, invalid.err
    assert "keeps no JSON metadata" in invalid.err
    # pass2 read the Rucio background in place: each merged file holds two background files
    local = open_catalog(rucio_registry, "local")
    merged = local.files(pass2.data["datasets"]["outputs"]["merged"])
    text = Path(merged[0].location).read_text()
    assert "minbias 1" in text and "minbias 2" in text
    assert git(rucio_registry.root, "status", "--porcelain") == ""


def test_checksum_mismatch_on_upload_uploads_nothing(
    rucio_registry: Registry, tmp_path: Path
) -> None:
    from shrek.catalogs import DatasetFile

    path = tmp_path / "changed.txt"
    path.write_text("original\n")
    catalog = open_catalog(rucio_registry)
    item = DatasetFile("changed.txt", 9, "adler32:00000001", str(path))
    with pytest.raises(Exception) as caught:
        catalog.register(f"{SCOPE}:mismatch.{rucio_registry.rucio_dataset}", [item])
    assert "checksum mismatch" in str(caught.value)
    assert caught.value.code == ExitCode.CONFLICT
    with pytest.raises(Exception, match="Rucio has no"):
        catalog.files(f"{SCOPE}:mismatch.{rucio_registry.rucio_dataset}")


def test_unreachable_server_and_bad_credentials(
    rucio_registry: Registry, shrek, rucio_env: RucioServer, tmp_path: Path
) -> None:
    settings = rucio_registry.root / "shrek.yaml"
    good = settings.read_text()
    settings.write_text(good.replace(rucio_env.url, "http://127.0.0.1:9"))
    result = shrek("dataset", "list", cwd=rucio_registry.root)
    assert result.code in (ExitCode.BACKEND, ExitCode.CREDENTIALS), result.err
    assert "127.0.0.1:9" in result.err and "Traceback" not in result.err
    settings.write_text(good)
    config = tmp_path / "bad.cfg"
    # another account, so no cached token of root's can stand in for the wrong password
    config.write_text(
        rucio_env.client_cfg.read_text()
        .replace("password = secret", "password = wrong")
        .replace("account = root", "account = shrekcheck")
    )
    settings.write_text(good.replace("account: root", "account: shrekcheck"))
    env = {**os.environ, "RUCIO_CONFIG": str(config)}
    run = subprocess.run(
        [sys.executable, "-m", "shrek", "dataset", "list"],
        cwd=rucio_registry.root,
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == ExitCode.CREDENTIALS, run.stderr
    assert "refused the credentials" in run.stderr


def test_names_follow_rucio_scope_convention(rucio_registry: Registry) -> None:
    """PanDA's outputs live in their user./group. scope (Rucio's extract_scope), not in the
    configured one; SHREK's own output names go to the configured scope."""
    catalog = open_catalog(rucio_registry, "rucio")
    container = "user.jdoe.sP22aa-local.s0001_000_demo-pass1_events/"
    assert catalog.split(container) == ("user.jdoe", container.rstrip("/"))
    assert catalog.split("group.sphenix.sP22aa-local.s0001") == (
        "group.sphenix",
        "group.sphenix.sP22aa-local.s0001",
    )
    assert catalog.split(f"{SCOPE}:a.b.c") == (SCOPE, "a.b.c")
    assert catalog.split("sP22aa-local.demo-pass1.events.s0001") == (
        SCOPE,
        "sP22aa-local.demo-pass1.events.s0001",
    )
    missing = catalog.datasets()  # one listing call, with sizes: the fixture's dataset is in it
    assert any(info.files == 3 and info.bytes > 0 for info in missing)


def test_an_unknown_panda_output_is_looked_up_in_its_own_scope(
    rucio_registry: Registry, shrek
) -> None:
    result = shrek("dataset", "show", "user.jdoe.nothing.here/", cwd=rucio_registry.root)
    assert result.code == ExitCode.NOT_FOUND, result.err
    assert "Rucio has no user.jdoe:user.jdoe.nothing.here" in result.err, result.err


def test_an_output_dataset_rucio_already_holds_is_refused_before_anything_runs(
    rucio_registry: Registry, shrek, request: pytest.FixtureRequest
) -> None:
    scope = "r" + request.node.name[-12:].replace("_", "")  # output names of this test only
    settings = rucio_registry.root / "shrek.yaml"
    settings.write_text(settings.read_text() + f"local:\n  scope: {scope}\n")
    git(rucio_registry.root, "commit", "-qam", "a scope of this test's own")
    assert shrek("freeze", "sP22aa", cwd=rucio_registry.root).code == 0
    taken = f"{scope}.{TAG}.demo-pass1.events.s0001"
    rucio_client().add_dataset(SCOPE, taken)  # made elsewhere, under the name SHREK would use
    head = git(rucio_registry.root, "rev-parse", "HEAD")
    refused = shrek("submit", "sP22aa/demo-pass1", cwd=rucio_registry.root)
    assert refused.code == ExitCode.CONFLICT, refused.err
    assert f"would write dataset {taken}, but the catalogue already holds it" in refused.err
    assert git(rucio_registry.root, "rev-parse", "HEAD") == head  # nothing journalled or run
