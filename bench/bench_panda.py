"""PanDA status in bulk: ``shrek status`` of a tag with 200 PanDA records against the stand-in
server (real panda-client code talking HTTP on 127.0.0.1), beside one panda-client request run
as a process of its own — what one lookup per record used to cost, each time.

The records are one real submission's, copied into 100 submissions of the two steps, each with
its own task on the server (as a long production accumulates them); every task is running, so
every record is refreshed.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from harness import SHREK, Verdicts, identity, run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the stand-in server

from shrek.catalogs.factory import open_catalog
from shrek.core.registry import Registry
from shrek.ops.dataset import add_files
from shrek.ops.freeze import freeze
from shrek.ops.init import init_registry
from shrek.ops.tag import TagRequest, new_tag
from tests.backends.pandastub import PandaStub, make_token

SUBMISSIONS = 100  # of two steps: 200 records
TAG = "sP22aa-local"
FLOOR = (
    "from pandaclient import Client; "
    "Client.get_tasks_detailed_info_since(since=None, filters={'taskName': 'x'}, n_tasks=10)"
)


def registry_with_panda_records(tmp: Path, stub: PandaStub, environment: dict) -> Registry:
    registry = Registry.open(init_registry(tmp / "registry"))
    settings = registry.root / "shrek.yaml"
    settings.write_text(
        settings.read_text()
        + "panda:\n  vo: wlcg\n  prod_source_label: test\n  working_group: sphenix\n"
    )
    new_tag(registry, TagRequest(label="sP22aa", skip_to=True, build="local", template="demo"))
    background = tmp / "mb.txt"
    background.write_text("minbias\n")
    add_files(open_catalog(registry), "demo.minbias.background", [background])
    os.system(f"cd {registry.root} && git commit -qam 'panda settings' >/dev/null")
    freeze(registry, TAG)
    run([*SHREK, "submit", "sP22aa", "--backend", "panda"], registry.root, runs=1, env=environment)
    submissions = registry.tag_dir(TAG) / "submissions"
    for step_dir in submissions.iterdir():
        first = (step_dir / "0001.yaml").read_text()
        name = re.search(r"task_name: (\S+)", first).group(1)
        for n in range(2, SUBMISSIONS + 1):
            copied = name.replace(".s0001", f".s{n:04d}")
            text = first.replace(name, copied).replace(
                f"/{step_dir.name}/0001", f"/{step_dir.name}/{n:04d}"
            )
            text = re.sub(r"^number: 1$", f"number: {n}", text, flags=re.M)
            (step_dir / f"{n:04d}.yaml").write_text(text)
            stub.tasks[max(stub.tasks) + 1] = {
                "taskName": copied,
                "jediTaskID": max(stub.tasks) + 1,
                "status": "registered",
                "dsinfo": {},
            }
    for task in stub.tasks.values():
        stub.set_status(task["taskName"], "running", files=10, finished=4)
    return registry


def main() -> int:
    identity()
    verdicts = Verdicts()
    stub = PandaStub().start()
    try:
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            environment = {
                **stub.environment(make_token("jdoe")),
                "PANDA_CONFIG_ROOT": str(tmp / ".pathena"),
            }
            registry = registry_with_panda_records(tmp, stub, environment)
            records = len(list((registry.tag_dir(TAG) / "submissions").glob("*/*.yaml")))
            assert records == 2 * SUBMISSIONS, records
            floor = run([sys.executable, "-c", FLOOR], tmp, runs=3, env=environment)
            ours = run(
                [*SHREK, "status", "--no-commit", "sP22aa"], registry.root, runs=3, env=environment
            )
            print(
                f"(floor for scale: one panda-client request as its own process takes "
                f"{floor.median_wall:.2f} s; one per record would be "
                f"{floor.median_wall * records:.0f} s)"
            )
            verdicts.ceiling(
                f"status of a tag with {records} running PanDA records (stand-in server)",
                ours,
                5.0,
                floor,
            )
    finally:
        stub.stop()
    return verdicts.finish()


if __name__ == "__main__":
    sys.exit(main())
