""" "Did you mean ...?": the known names closest to one that is not known, for the fix of a
message that names a missing step, tag, build, key or file.

One place for the rule (difflib's ratio, 0.6 unless said), and difflib is imported only when
a name is wrong: every command that validates would otherwise load it for nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs the quick answers 3 ms
if TYPE_CHECKING:
    from collections.abc import Sequence


def close_matches(word: str, known: Sequence[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` names of ``known`` closest to ``word``, best first."""
    import difflib

    return difflib.get_close_matches(word, known, n=n, cutoff=cutoff)
