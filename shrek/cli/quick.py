"""The questions the command line answers without loading typer: the ones asked most often,
with no option whose value typer would have to parse.

Typer, click and the command groups cost 40 ms to import: more than ``shrek tag list``
answered from its cache (:func:`shrek.ops.listing.cached_listing`), and a tenth of the
``shrek validate`` every CI job of a registry runs. So :mod:`shrek.entry` asks here first.
Anything else — another question, a global option, a registry whose listing cache does not
hold (a changed tag, no cache yet, a racy time stamp), an error to report, text click would
print differently — gets None, and typer runs the command as always. Both paths print with the
same functions (:func:`tag_list_text`, :func:`validate_text`), so the answer is the same text
either way.
"""

from __future__ import annotations

import sys

from shrek.cli.text import json_text, rows_text

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from typing import Any

    from shrek.ops.validation import Report

# The command lines answered here: the command's words, and the flags it may carry.
QUESTIONS = {("tag", "list"): {"--json"}, ("validate",): {"--json", "--no-cache"}}


class Answer:
    """What the command prints, and its exit code. (Not a dataclass: importing dataclasses
    costs ``tag list``'s quick answer 10 ms.)"""

    __slots__ = ("code", "err", "out")

    def __init__(self, out: str, err: str = "", code: int = 0) -> None:
        self.out, self.err, self.code = out, err, code


def answer(argv: list[str]) -> Answer | None:
    """What ``shrek ARGV`` prints, when it is answered without typer; else None."""
    for words, allowed in QUESTIONS.items():
        flags = argv[len(words) :]
        if tuple(argv[: len(words)]) == words and set(flags) <= allowed:
            if len(set(flags)) != len(flags):
                return None  # a flag given twice: typer's rules
            break
    else:
        return None
    from shrek.ops.session import registry_root

    root = registry_root()
    if root is None:
        return None
    if words == ("validate",):
        given = _validated(root, as_json="--json" in flags, use_cache="--no-cache" not in flags)
    else:
        given = _listed(root, as_json="--json" in flags)
    return given if given is not None and _printable(given) else None


def _listed(root: str, *, as_json: bool) -> Answer | None:
    from shrek.ops.listing import cached_listing

    rows = cached_listing(root)
    return None if rows is None else Answer(tag_list_text(rows, as_json=as_json) + "\n")


def _validated(root: str, *, as_json: bool, use_cache: bool) -> Answer | None:
    """``shrek validate``; None when it cannot run (an unusable ``shrek.yaml``, a file that
    cannot be read): typer runs it again and says why, as for every command."""
    from pathlib import Path

    from shrek.errors import ShrekError
    from shrek.ops.session import open_registry
    from shrek.ops.validation import validate

    try:
        report = validate(open_registry(Path(root)), [], use_cache=use_cache)
    except (ShrekError, OSError):
        return None
    out, err, code = validate_text(report, as_json=as_json)
    return Answer(out, err, code)


def _printable(given: Answer) -> bool:
    """Whether the text goes out as typer would print it: click strips terminal codes unless
    it writes to a terminal, and decides how to print what the output's encoding lacks."""
    text = given.out + given.err
    if "\x1b" in text:
        return False
    try:
        given.out.encode(sys.stdout.encoding or "utf-8")
        given.err.encode(sys.stderr.encoding or "utf-8")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def tag_list_text(rows: list[dict[str, Any]], *, as_json: bool) -> str:
    """``shrek tag list`` as it prints."""
    return rows_text(
        rows,
        as_json=as_json,
        empty="no tags yet: create one with 'shrek tag new'",
        columns=("label", "build", "steps", "state", "title"),
        cells=lambda r: [
            r["label"],
            r["build"],
            str(r["steps"]),
            r["state"]
            + (f" ({r['invalid']} invalid)" if r["invalid"] else "")
            + (f" ({r['tainted']} tainted)" if r["tainted"] else ""),
            r["title"],
        ],
    )


def validate_text(report: Report, *, as_json: bool) -> tuple[str, str, int]:
    """``shrek validate`` as it prints: standard output, standard error, exit code."""
    from shrek.errors import ExitCode

    code = 0 if report.ok else int(ExitCode.INVALID)
    if as_json:
        return json_text(report.as_dict()) + "\n", "", code
    err = "".join(f"{finding}\n" for finding in report.findings)
    count = len(report.checked)
    if report.ok:
        listed = f" ({', '.join(report.checked)})" if 0 < count <= 5 else ""
        return f"ok: {count} tag(s) valid{listed}\n", err, code
    err += f"shrek: {len(report.findings)} error(s) found (checked {count} tag(s))\n"
    return "", err, code
