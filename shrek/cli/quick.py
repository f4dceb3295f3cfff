"""The questions the command line answers without loading typer: the ones asked most often,
when SHREK's caches can answer them whole.

Typer, click and the command groups cost a tenth of a second to import; ``shrek tag list``
answered from its cache (:func:`shrek.ops.listing.cached_listing`) costs less than that for
5,000 tags. So :mod:`shrek.entry` asks here first. Anything else — another question, a global
option, a registry whose cache does not hold (a changed tag, no cache yet, a racy time stamp),
an error to report — gets None, and typer runs the command as always; both paths print with
the same functions (:func:`tag_list_text`), so the answer is the same text either way.
"""

from __future__ import annotations

import sys

from shrek.cli.text import rows_text

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from typing import Any

# The exact command lines answered here, and whether each asks for JSON.
QUESTIONS = {("tag", "list"): False, ("tag", "list", "--json"): True}


def answer(argv: list[str]) -> str | None:
    """What ``shrek ARGV`` prints, when it can be answered from the caches; else None."""
    as_json = QUESTIONS.get(tuple(argv))
    if as_json is None:
        return None
    from shrek.ops.session import registry_root

    root = registry_root()
    if root is None:
        return None
    from shrek.ops.listing import cached_listing

    rows = cached_listing(root)
    if rows is None:
        return None
    text = tag_list_text(rows, as_json=as_json) + "\n"
    if "\x1b" in text:  # click strips terminal codes unless it writes to a terminal
        return None
    try:
        text.encode(sys.stdout.encoding or "utf-8")
    except (LookupError, UnicodeEncodeError):  # click decides how to print what cannot be
        return None
    return text


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
