"""JSON Schema validation of SHREK's YAML files, with every error placed at file:line:column.

The schemas (draft 2020-12, in ``schemas/``) reject unknown keys and describe every property;
this module turns jsonschema's errors into :class:`~shrek.errors.Finding` objects a person can
act on: the exact key or value, what is wrong, and the fix (from the schema's ``x-fix`` hints,
its descriptions, or a "did you mean" suggestion).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shrek import __version__
from shrek.core.acceptor import Predicate, Unsupported, compile_schema
from shrek.core.yamlio import Document

if TYPE_CHECKING:  # jsonschema is imported when a document is checked, not at start-up
    from jsonschema.exceptions import ValidationError
from shrek.core.suggest import close_matches
from shrek.errors import Finding

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # shrek/


def schema_dir() -> Path:
    """Where the schemas are: inside the installed package, or at the top of a source checkout."""
    for candidate in (_PACKAGE_DIR / "schemas", _PACKAGE_DIR.parent / "schemas"):
        if (candidate / "step.schema.json").is_file():
            return candidate
    raise RuntimeError("SHREK's schemas are missing from the installation")  # a packaging bug


@cache
def fingerprint(*kinds: str) -> str:
    """The SHREK version and the text of the ``kinds`` schemas (all of them when none is
    named), as a digest: what a remembered verdict ("this file passed") was made with."""
    digest = hashlib.sha256(f"shrek {__version__}\0".encode())
    names = [f"{kind}.schema.json" for kind in kinds] or sorted(
        p.name for p in schema_dir().glob("*.schema.json")
    )
    for name in names:
        digest.update((schema_dir() / name).read_bytes())
    return digest.hexdigest()


@cache
def load_schema(kind: str) -> dict[str, Any]:
    with open(schema_dir() / f"{kind}.schema.json", encoding="utf-8") as handle:
        return json.load(handle)


def _strict_integer(checker: Any, instance: Any) -> bool:  # noqa: ARG001 (jsonschema's form)
    """An integer is an int, never a float: JSON Schema calls ``4.0`` an integer, but YAML's
    ``4.0`` is a float that renders as ``--nJobs 4.0``, which panda-client refuses."""
    return isinstance(instance, int) and not isinstance(instance, bool)


@cache
def validator(kind: str) -> Any:
    """SHREK's validator for ``kind``: draft 2020-12 with strict integers."""
    from jsonschema import Draft202012Validator, validators

    strict = validators.extend(
        Draft202012Validator,
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
    )
    return strict(load_schema(kind))


@cache
def acceptor(kind: str) -> Predicate | None:
    """The ``kind`` schema compiled to a "certainly valid" predicate (None: not compilable).
    Valid documents, nearly all of them, then never need jsonschema, not even its import."""
    try:
        return compile_schema(load_schema(kind))
    except Unsupported:
        return None


def export(directory: Path) -> list[Path]:
    """Copy every schema (file formats and --json output shapes) into ``directory``."""
    import shutil

    source = schema_dir()
    written = []
    for path in sorted(source.rglob("*.schema.json")):
        target = directory / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != path.read_bytes():
            shutil.copyfile(path, target)
        written.append(target)
    return written


def schema_version(kind: str) -> int:
    return int(load_schema(kind)["x-schema-version"])


def _describe(path: tuple[Any, ...]) -> str:
    """``("inputs", 0, "dataset")`` -> ``inputs[0].dataset``; the root is 'the document'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the document"


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
    "decimal": "a decimal number",
}


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "decimal"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else type(value).__name__


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else _TYPE_NAMES[_type_of(value)]
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_keys(doc: Document, error: ValidationError) -> list[Finding]:
    schema: Any = error.schema  # a dict here: the failing object's own schema
    known = list(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    findings = []
    instance: Any = error.instance
    for key in instance:
        if key in known or any(p.search(str(key)) for p in patterns):
            continue
        path = (*error.absolute_path, key)
        where = _describe(tuple(error.absolute_path))
        close = close_matches(str(key), known, n=1, cutoff=0.6)
        fix = f"did you mean '{close[0]}'? " if close else ""
        fix += "allowed keys: " + ", ".join(known)
        findings.append(doc.finding(path, f"unknown key '{key}' in {where}", fix, key=True))
    return findings


def _finding(doc: Document, error: ValidationError) -> list[Finding]:
    """One schema error as findings at the right place, in words and with a fix."""
    path = tuple(error.absolute_path)
    what = _describe(path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    fix = schema.get("x-fix", "")
    kind = error.validator
    if kind == "additionalProperties":
        return _unknown_keys(doc, error)
    if kind == "required":
        return [_missing_key(doc, error, path, schema)]
    if "propertyNames" in error.schema_path:
        message = f"invalid name {_show(error.instance)} in {what}"
        return [doc.finding((*path, error.instance), message, fix, key=True)]
    if kind in ("oneOf", "anyOf") and "x-error" in schema:
        return [_exclusive_keys(doc, error, schema["x-error"], fix)]
    explain = _EXPLAIN.get(str(kind))
    if explain is None:
        return [doc.finding(path, f"{what}: {error.message}", fix or schema.get("description", ""))]
    message, default_fix = explain(error, what, schema)
    return [doc.finding(path, message, fix or default_fix)]


def _missing_key(
    doc: Document, error: ValidationError, path: tuple, schema: dict[str, Any]
) -> Finding:
    missing = re.match(r"'([^']+)'", error.message)
    name = missing.group(1) if missing else error.message
    described = schema.get("properties", {}).get(name, {}).get("description", "")
    where = "" if not path else f" in {_describe(path)}"
    return doc.finding(
        path,
        f"missing required key '{name}'{where}",
        f"add '{name}:'" + (f" ({described})" if described else ""),
    )


def _wrong_type(error: ValidationError, what: str, _schema: dict[str, Any]) -> tuple[str, str]:
    expected: Any = error.validator_value
    names = [expected] if isinstance(expected, str) else list(expected)
    wanted = _either([_TYPE_NAMES.get(n, n) for n in names])
    got = _TYPE_NAMES.get(_type_of(error.instance), _type_of(error.instance))
    shown = "" if isinstance(error.instance, (dict, list)) else f" ({_show(error.instance)})"
    fix = "quote the value to make it a string" if "string" in names else f"give {wanted}"
    return f"{what} must be {wanted}, not {got}{shown}", fix


def _not_allowed(error: ValidationError, what: str, _schema: dict[str, Any]) -> tuple[str, str]:
    allowed: Any = error.validator_value
    choices = ", ".join(repr(c) for c in allowed)
    return f"{what} is {_show(error.instance)}; allowed: {choices}", f"use one of {choices}"


def _not_constant(error: ValidationError, what: str, _schema: dict[str, Any]) -> tuple[str, str]:
    return (
        f"{what} must be {error.validator_value!r}, not {_show(error.instance)}",
        f"set it to {error.validator_value!r}",
    )


def _no_match(error: ValidationError, what: str, schema: dict[str, Any]) -> tuple[str, str]:
    return f"invalid value {_show(error.instance)} for {what}", schema.get("description", "")


# validator -> (message, the fix when the schema gives no x-fix)
_EXPLAIN: dict[str, Callable[[ValidationError, str, dict[str, Any]], tuple[str, str]]] = {
    "type": _wrong_type,
    "enum": _not_allowed,
    "const": _not_constant,
    "pattern": _no_match,
}


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _exclusive_keys(doc: Document, error: ValidationError, message: str, fix: str) -> Finding:
    """A oneOf over ``required`` alternatives: say which of the keys are there (both/neither)."""
    path = tuple(error.absolute_path)
    rule: Any = error.validator_value
    alternatives = [k for sub in rule for k in sub.get("required", [])]
    present = [k for k in alternatives if isinstance(error.instance, dict) and k in error.instance]
    if len(present) > 1:
        last = max(present, key=lambda k: doc.where((*path, k), key=True))
        return doc.finding(
            (*path, last),
            f"{message}; found both " + " and ".join(f"'{k}'" for k in present),
            fix,
            key=True,
        )
    return doc.finding(path, f"{message}; found neither", fix)


def check(doc: Document, kind: str) -> list[Finding]:
    """Validate ``doc`` against the ``kind`` schema; every error becomes a located finding."""
    if not isinstance(doc.data, dict):  # one finding: every other check would follow from it
        got = _TYPE_NAMES.get(_type_of(doc.data), _type_of(doc.data))
        return [
            doc.finding(
                [],
                f"the document must be a mapping, not {got}",
                "write it as 'key: value' lines (see the schema named on its first line)",
            )
        ]
    accept = acceptor(kind)
    if accept is not None and accept(doc.data):
        return []
    findings: list[Finding] = []
    for error in validator(kind).iter_errors(doc.data):
        if error.validator == "propertyNames":
            # Point at the offending key itself rather than at the mapping holding it.
            findings.extend(_bad_names(doc, error))
        else:
            findings.extend(_finding(doc, error))
    return findings


def _bad_names(doc: Document, error: ValidationError) -> list[Finding]:
    path = tuple(error.absolute_path)
    rule: Any = error.validator_value
    pattern = re.compile(rule.get("pattern", ".*"))
    fix = rule.get("x-fix", "")
    findings = []
    instance: Any = error.instance
    for key in instance:
        if not isinstance(key, str) or not pattern.search(key):
            findings.append(
                doc.finding(
                    (*path, key), f"invalid name '{key}' in {_describe(path)}", fix, key=True
                )
            )
    return findings
