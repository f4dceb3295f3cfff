"""A production's day without dead ends: every refusal of submit, retry and extend names a fix,
and the fix, run exactly as printed, leads on — to the next refusal's fix or to the goal.

Each test runs the printed command itself (parsed from the ``fix:`` line), never one the
test knows better; a fix that pointed at another refusal would loop or fail here.
"""

from __future__ import annotations

import re
from pathlib import Path

from shrek.core.records import load_records
from shrek.core.registry import Registry
from shrek.errors import ExitCode
from tests.conftest import git
from tests.ops.conftest import DEMO_TAG, edit_step

COMMAND = re.compile(
    r"shrek (?:submit|retry|extend|status|kill|freeze) [\w./-]+(?: --[a-z]+(?: N)?)*"
)


def fixes(err: str) -> list[list[str]]:
    """The commands a refusal's ``fix:`` line prints, as argument lists (``N`` -> 2)."""
    (line,) = [x for x in err.splitlines() if x.strip().startswith("fix:")]
    return [c.replace(" N", " 2").split()[1:] for c in COMMAND.findall(line)]


def follow(shrek, registry: Registry, err: str, index: int = 0):
    """Run the ``index``-th command the refusal's fix prints, as printed."""
    return shrek(*fixes(err)[index], cwd=registry.root)


def states(registry: Registry, step: str) -> list[str]:
    return [r.state for r in load_records(registry.tag_dir(DEMO_TAG), step)]


def flaky_pass1(registry: Registry, marker: Path) -> None:
    """pass1's jobs 2 and 4 fail (once each, no backend retry) until ``marker`` exists."""
    edit_step(
        registry,
        "demo-pass1",
        "exec: python3",
        f"exec: test $((${{SHREK_SEQ}} % 2)) -eq 1 || test -e {marker} || exit 3; python3",
        refreeze=False,
    )
    edit_step(registry, "demo-pass1", "max_attempts: 2", "max_attempts: 1")


def test_partial_upstream_every_fix_leads_on(demo: Registry, shrek, tmp_path: Path) -> None:
    marker = tmp_path / "fixed"
    flaky_pass1(demo, marker)
    first = shrek("submit", "sP22aa/demo-pass2", cwd=demo.root)
    assert first.code == ExitCode.NO_UPSTREAM, first.err
    assert "demo-pass1 has no done submission yet" in first.err
    ran = follow(shrek, demo, first.err)  # shrek submit sP22aa/demo-pass1
    assert ran.code == ExitCode.BACKEND and states(demo, "demo-pass1") == ["partial"]
    assert "partial  2/4 job(s) done" in ran.out  # the state is named, not "finished"

    upstream = shrek("submit", "sP22aa/demo-pass2", cwd=demo.root)
    assert upstream.code == ExitCode.NO_UPSTREAM
    assert "demo-pass1 #0001 ended partial (2 of 4 jobs failed)" in upstream.err
    again = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert again.code == ExitCode.ALREADY
    assert "#0001 ended partial (2 of 4 jobs failed)" in again.err
    assert fixes(again.err)[0] == fixes(upstream.err)[0] == ["retry", "sP22aa/demo-pass1"]

    marker.touch()
    retried = follow(shrek, demo, upstream.err)
    assert retried.code == 0, retried.err
    waited = shrek("status", "sP22aa", cwd=demo.root)
    while "running" in waited.out:
        waited = shrek("status", "sP22aa", cwd=demo.root)
    assert states(demo, "demo-pass1") == ["done"]
    nothing = shrek("retry", "sP22aa/demo-pass1", cwd=demo.root)
    assert nothing.code == ExitCode.NOTHING_TO_DO and "nothing to retry" in nothing.err
    assert follow(shrek, demo, nothing.err).code == 0  # shrek extend sP22aa/demo-pass1 --jobs 2

    rest = follow(shrek, demo, upstream.err, 1)  # then submit demo-pass2
    assert rest.code == 0, rest.err
    assert states(demo, "demo-pass2") == ["done"]
    assert states(demo, "demo-pass1") == ["done", "done"]  # with the extension
    assert git(demo.root, "status", "--porcelain") == ""


def test_submit_tag_submits_the_rest_and_names_what_it_skipped(demo: Registry, shrek) -> None:
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == 0
    rest = shrek("submit", "sP22aa", cwd=demo.root)
    assert rest.code == 0, rest.err
    assert "skipped demo-pass1 #0001: done" in rest.out
    assert states(demo, "demo-pass1") == ["done"] and states(demo, "demo-pass2") == ["done"]
    (record,) = load_records(demo.tag_dir(DEMO_TAG), "demo-pass2")
    assert record.data.get("workflow") is None  # one step submitted, reading #0001's outputs

    whole = shrek("submit", "sP22aa", cwd=demo.root)
    assert whole.code == ExitCode.ALREADY and "every step of sP22aa-local is done" in whole.err
    # the fix: more jobs of the generator, then the reader once more for the new files
    assert fixes(whole.err) == [
        ["extend", "sP22aa/demo-pass1", "--jobs", "2"],
        ["submit", "sP22aa/demo-pass2", "--again"],
    ]
    not_here = shrek("extend", "sP22aa/demo-pass2", "--jobs", "2", cwd=demo.root)
    assert not_here.code == ExitCode.USAGE and "extend the generator step upstream" in not_here.err
    assert follow(shrek, demo, whole.err).code == 0
    reader = shrek("submit", "sP22aa/demo-pass2", cwd=demo.root)
    assert reader.code == ExitCode.ALREADY and "once the step upstream has made more" in reader.err
    assert follow(shrek, demo, whole.err, 1).code == 0
    assert states(demo, "demo-pass2") == ["done", "done"]


def test_a_cancelled_step_is_submitted_again_not_retried(
    demo: Registry, shrek, tmp_path: Path
) -> None:
    marker = tmp_path / "fixed"
    edit_step(
        demo,
        "demo-pass1",
        "exec: python3",
        f"exec: test -e {marker} || exit 3; python3",
        refreeze=False,
    )
    edit_step(demo, "demo-pass1", "max_attempts: 2", "max_attempts: 1")
    assert shrek("submit", "sP22aa", cwd=demo.root).code == ExitCode.BACKEND
    assert states(demo, "demo-pass1") == ["failed"] and states(demo, "demo-pass2") == ["cancelled"]
    retry = shrek("retry", "sP22aa/demo-pass2", cwd=demo.root)
    assert retry.code == ExitCode.LIFECYCLE and "none of its jobs ran" in retry.err
    submit = follow(shrek, demo, retry.err)  # shrek submit sP22aa/demo-pass2
    assert submit.code == ExitCode.NO_UPSTREAM and "demo-pass1 #0001 ended failed" in submit.err
    marker.touch()
    assert follow(shrek, demo, submit.err).code == 0  # submit demo-pass1 again
    assert follow(shrek, demo, submit.err, 1).code == 0  # then demo-pass2
    assert states(demo, "demo-pass1") == ["failed", "done"]
    assert states(demo, "demo-pass2") == ["cancelled", "done"]


def test_extend_of_a_partial_step_points_at_retry(demo: Registry, shrek, tmp_path: Path) -> None:
    marker = tmp_path / "fixed"
    flaky_pass1(demo, marker)
    assert shrek("submit", "sP22aa/demo-pass1", cwd=demo.root).code == ExitCode.BACKEND
    extend = shrek("extend", "sP22aa/demo-pass1", "--jobs", "2", cwd=demo.root)
    assert extend.code == ExitCode.LIFECYCLE and "is partial" in extend.err
    assert fixes(extend.err) == [["retry", "sP22aa/demo-pass1"]]


def test_unfrozen_and_active_fixes_lead_on(demo: Registry, shrek) -> None:
    edit_step(demo, "demo-pass1", "exec: python3", "exec: sleep 30; python3", refreeze=False)
    unfrozen = shrek("submit", "sP22aa/demo-pass1", "--detach", cwd=demo.root)
    assert unfrozen.code == ExitCode.NOT_FROZEN
    assert fixes(unfrozen.err) == [["freeze", "sP22aa"]]
    assert follow(shrek, demo, unfrozen.err).code == 0
    assert shrek("submit", "sP22aa/demo-pass1", "--detach", cwd=demo.root).code == 0
    active = shrek("submit", "sP22aa/demo-pass1", cwd=demo.root)
    assert active.code == ExitCode.ALREADY and "already has an active submission" in active.err
    assert fixes(active.err) == [["status", "sP22aa"], ["kill", "sP22aa/demo-pass1"]]
    assert follow(shrek, demo, active.err).code == 0  # status: it is running
    extend = shrek("extend", "sP22aa/demo-pass1", "--jobs", "2", cwd=demo.root)
    assert extend.code == ExitCode.LIFECYCLE and fixes(extend.err) == [["status", "sP22aa"]]
    assert follow(shrek, demo, active.err, 1).code == 0  # kill it
    assert states(demo, "demo-pass1") == ["killed"]
    again = shrek("submit", "sP22aa/demo-pass1", "--detach", cwd=demo.root)
    assert again.code == 0, again.err  # a killed step is submitted again, no --again needed
    assert shrek("kill", "sP22aa", cwd=demo.root).code == 0
