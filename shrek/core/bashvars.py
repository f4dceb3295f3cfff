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
from functools import lru_cache

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
    for kind, text, _ in _references(script):
        if kind == "name" and text not in names:
            names.append(text)
    return names


def positional_parameters(script: str) -> list[tuple[str, int]]:
    """Every use of a script argument (``$1``…``$9``, ``${1}``, ``$@``, ``$*``) outside a
    function body, with its offset. SHREK's wrapper runs the payload with no arguments, so each
    one expands to nothing (or stops the job under ``set -u``); in 2022's job files ``$1`` was
    the job's number."""
    bodies = _function_bodies(script)
    return [
        (text, at)
        for kind, text, at in _references(script)
        if kind == "positional" and not any(start <= at < end for start, end in bodies)
    ]


_POSITIONAL = re.compile(r"\$(?:[1-9@*]|\{[1-9@*]\})")
_FUNCTION = re.compile(
    r"(?m)^[ \t]*(?:function[ \t]+[A-Za-z_][\w-]*(?:[ \t]*\(\))?|[A-Za-z_][\w-]*[ \t]*\(\))\s*\{"
)


def _function_bodies(script: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the bodies of functions the script defines: their ``$1`` is
    the function's own argument. Braces are counted, which ``${...}`` keeps balanced."""
    bodies = []
    for match in _FUNCTION.finditer(script):
        depth, i = 1, match.end()
        while i < len(script) and depth:
            depth += {"{": 1, "}": -1}.get(script[i], 0)
            i += 1
        bodies.append((match.end(), i))
    return bodies


@lru_cache(maxsize=64)
def _references(script: str) -> tuple[tuple[str, str, int], ...]:
    """Every ``$`` reference that bash expands: ("name", name, offset) or ("positional",
    "$1", offset). Follows quoting (nothing expands inside single quotes), skips escaped
    dollars and comments. Remembered for the last scripts: validation asks twice per step."""
    found: list[tuple[str, str, int]] = []
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
            positional = _POSITIONAL.match(script, i)
            if positional:
                found.append(("positional", positional.group(), i))
                i = positional.end()
                at_word_start = False
                continue
            following = script[i + 1]
            start = i + 2 if following == "{" else i + 1
            if following == "{" and start < n and script[start] == "#":
                start += 1
            match = _NAME.match(script, start)
            if match and (following == "{" or _NAME_START.match(following)):
                found.append(("name", match.group(), i))
                i = match.end()
                at_word_start = False
                continue
        at_word_start = char in " \t\n;&|()"
        i += 1
    return tuple(found)


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
