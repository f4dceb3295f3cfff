"""Text a user types on the command line, checked like text in a file.

Titles, owners and reasons end up in one line of a ledger, a YAML field, a README table and a
commit message: a line break, a NUL or a terminal escape code in them breaks the ledger's
one-entry-per-line format or hides text from a reader, and a credential in them would be
committed for ever. Such text is refused at entry, naming the option, the character and where
it is, rather than written and found later by validate.
"""

from __future__ import annotations

import unicodedata

from shrek.errors import ExitCode, ShrekError
from shrek.redact import find_credentials

LIMITS = {"--title": 200, "--owner": 200, "--reason": 1000}


def one_line(value: str, option: str) -> str:
    """``value`` stripped, if it is one line of printable text within the option's bound."""
    text = value.strip()
    for position, char in enumerate(text, start=1):
        if char == " ":
            continue
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise ShrekError(
                f"{option} must be one line of printable text; it has {char!r} at character "
                f"{position}",
                f"give {option} without line breaks, tabs or control characters",
                ExitCode.USAGE,
            )
    for found in find_credentials(text)[:1]:
        raise ShrekError(
            f"{option} holds a credential ({found.kind}) at character {found.start + 1}; it "
            "would be committed for ever",
            f"give {option} without it (a credential belongs in an environment variable or the "
            "backend's own credential store, never in the registry)",
            ExitCode.USAGE,
        )
    limit = LIMITS.get(option, 200)
    if len(text) > limit:
        raise ShrekError(
            f"{option} is {len(text):,} characters long; at most {limit} are kept",
            f"shorten {option} (the details belong in the tag's description or README)",
            ExitCode.USAGE,
        )
    return text
