"""``shrek submit`` run without loading typer, for the command lines typer would read in only
one way.

Loading typer, click and the command line's modules, and building the command, costs 20 ms:
a tenth of a submit (docs/benchmarks.md). A submit command line of the target and on/off flags
(:data:`FLAGS`) is read here instead, into the same options typer would give the command,
and runs through the same code (:mod:`shrek.cli.submitted`); failures end through
:func:`shrek.cli.failure.report`, as on the full command line. Anything else — an option
with a value, ``--help``, a global option, an unknown or combined flag, ``SHREK_REGISTRY``
set — gets None and goes to typer. ``tests/ops/test_direct_submit.py`` holds this reading to
typer's own for every flag.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from typing import Any

# The on/off flags of 'shrek submit' (as shrek/cli/submit.py declares them), by the name of
# the command's parameter each sets.
FLAGS = {
    "--test": "test",
    "--again": "again",
    "--detach": "detach",
    "-d": "detach",
    "--no-check": "no_check",
    "--accept-tainted": "accept_tainted",
    "--reread": "reread",
    "--quiet": "quiet",
    "-q": "quiet",
    "--json": "as_json",
}


def options(argv: list[str]) -> dict[str, Any] | None:
    """The options of ``shrek ARGV`` when it is a submit read here: ``target`` and every flag
    (False when not given); None when typer must read it."""
    if argv[:1] != ["submit"] or "SHREK_REGISTRY" in os.environ:
        return None
    given = dict.fromkeys(FLAGS.values(), False)
    targets = []
    for word in argv[1:]:
        if word in FLAGS:
            given[FLAGS[word]] = True
        elif word.startswith("-"):
            return None
        else:
            targets.append(word)
    if len(targets) != 1:
        return None
    return {"target": targets[0], **given}


def submit(given: dict[str, Any], argv: list[str]) -> int:
    """Run the submit of :func:`options` ``given`` (from ``shrek ARGV``); its exit code."""
    from shrek.cli.failure import report
    from shrek.cli.say import say
    from shrek.interrupts import fault_point

    started = False  # typer's run reaches the command's code once the command line is read
    try:
        fault_point("command")
        started = True
        from shrek.cli.submitted import submit_and_report, submit_request
        from shrek.ops.session import open_registry

        flags = dict(given)
        quiet, as_json = flags.pop("quiet"), flags.pop("as_json")
        registry = open_registry(None, lambda message: say(message, err=True))
        return submit_and_report(registry, submit_request(**flags), quiet=quiet, as_json=as_json)
    except (Exception, KeyboardInterrupt) as error:  # SHREK's refusals, the disk, a bug
        if started and isinstance(error, KeyboardInterrupt):
            say(err=True)  # the line after the terminal's ^C, as typer leaves it in a command
        return report(error, argv)
