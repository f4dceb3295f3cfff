"""Which shell variables a step's ``command``/``exec`` uses and which it sets itself.

Validation must predict submission: a ``${nevent}`` typo would otherwise expand to nothing on
the worker, hours later. This is a small scanner, not a bash parser: it follows quoting (nothing
expands inside single quotes), skips escaped dollars and comments, and finds ``$name``,
``${name}``, ``${name[...]}``, ``${#name...}`` and ``${name:-...}`` references. Assignments
(``x=...``, ``export x=``, ``local``/``declare``/``readonly``, ``for x in``, ``read x``) count as
definitions so a script's own variables are not reported.
"""

from __future__ import annotations

import re

_NAME_START = re.compile(r"[A-Za-z_]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN = re.compile(r"(?<![\w$\-./:=])([A-Za-z_][A-Za-z0-9_]*)(?:\[[^\]\n]*\])?\+?=")
_FOR = re.compile(r"\bfor\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b")
_READ = re.compile(r"\b(read|mapfile|readarray)((?:[ \t]+[^\s;&|<>()]+)+)")
_OPTION_WITH_VALUE = {
    "read": {"-d", "-i", "-n", "-N", "-p", "-t", "-u"},
    "mapfile": {"-d", "-n", "-O", "-s", "-u", "-C", "-c"},
}


def used_variables(script: str) -> list[str]:
    """Names referenced with ``$`` in ``script``, in order of first use, without duplicates."""
    names: list[str] = []
    i, n = 0, len(script)
    quote = ""  # "", "'" or '"'
    at_word_start = True
    while i < n:
        char = script[i]
        if quote == "'":
            if char == "'":
                quote = ""
            i += 1
            continue
        if char == "\\":
            i += 2
            at_word_start = False
            continue
        if quote == "" and char == "#" and at_word_start:
            newline = script.find("\n", i)
            i = n if newline < 0 else newline
            continue
        if quote == "" and char == "'":
            quote = "'"
        elif char == '"':
            quote = "" if quote == '"' else '"'
        elif char == "$" and i + 1 < n:
            following = script[i + 1]
            start = i + 2 if following == "{" else i + 1
            if following == "{" and start < n and script[start] == "#":
                start += 1
            match = _NAME.match(script, start)
            if match and (following == "{" or _NAME_START.match(following)):
                if match.group() not in names:
                    names.append(match.group())
                i = match.end()
                at_word_start = False
                continue
        at_word_start = char in " \t\n;&|()"
        i += 1
    return names


def assigned_variables(script: str) -> set[str]:
    """Names the script defines itself (assignments, loop variables, ``read`` targets)."""
    names = {m.group(1) for m in _ASSIGN.finditer(script)}
    names.update(m.group(1) for m in _FOR.finditer(script))
    for match in _READ.finditer(script):
        with_value = _OPTION_WITH_VALUE["read" if match.group(1) == "read" else "mapfile"]
        words = iter(match.group(2).split())
        for word in words:
            if word in with_value:
                next(words, None)
            elif word == "-a":
                names.add(next(words, ""))
            elif not word.startswith("-") and _NAME.fullmatch(word):
                names.add(word)
    return names
