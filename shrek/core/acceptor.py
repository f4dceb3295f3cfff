"""A JSON Schema compiled into a plain Python predicate that says "certainly valid".

``shrek validate`` checks thousands of files and nearly all of them are valid. jsonschema is
the authority — its errors become the findings people read — but its general machinery
(an evolved validator per subschema, error generators, the import itself) was a third of a
cold validation. A valid document needs no errors, only a yes.

:func:`compile_schema` turns a schema into closures for the keywords SHREK's schemas use.
The contract is one-sided, which is what makes it safe: ``True`` means jsonschema (with
SHREK's strict integers) would report no error; ``False`` means "not certain" and the caller
asks jsonschema, which finds and explains the errors. A keyword the compiler does not know
makes the whole schema uncompilable (:class:`Unsupported`), so a schema edit can never
silently weaken validation; ``tests/core/test_acceptor.py`` compares the two verdicts on
generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[Any], bool]

# Keywords that describe or annotate and never change a verdict.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "$defs"}
)
_OBJECT = frozenset(
    {
        "properties",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "required",
        "minProperties",
        "maxProperties",
    }
)
_ARRAY = frozenset({"items", "minItems", "uniqueItems"})
_STRING = frozenset({"pattern", "minLength", "maxLength"})
_NUMBER = frozenset({"minimum", "maximum", "exclusiveMinimum"})
# JSON types as the exact Python types YAML and JSON loaders produce. SHREK's integers are
# strict: an int, never a bool (its own type) and never a float such as 4.0.
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
_JSON_TYPES = frozenset(t for types in _TYPES.values() for t in types)


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not implement: use jsonschema alone."""


def _same_kind_equal(a: Any, b: Any) -> bool:
    """JSON equality as jsonschema sees it for scalars: ``True`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False  # not certain: let jsonschema compare structures
    return a == b


def _all(checks: list[Predicate]) -> Predicate:
    if not checks:
        return lambda _value: True
    if len(checks) == 1:
        return checks[0]

    def every(value: Any) -> bool:  # a loop: a generator per call cost more than the checks
        for check in checks:  # noqa: SIM110
            if not check(value):
                return False
        return True

    return every


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Predicate] = {}

    # Complex by design: one branch per JSON Schema keyword, on the hot path.
    def compile(self, schema: Any) -> Predicate:  # noqa: C901
        if schema is True:
            return lambda _value: True
        if schema is False:
            return lambda _value: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        keys = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
        unknown = keys - _OBJECT - _ARRAY - _STRING - _NUMBER - {"type", "enum", "const"}
        unknown -= {"oneOf", "$ref"}
        if unknown:
            raise Unsupported(", ".join(sorted(unknown)))
        # The type check admits only plain JSON types; without one, a subclass or a date is
        # still left to jsonschema.
        checks = [self._type(schema["type"]) if "type" in schema else self._plain_types()]
        if keys & _OBJECT:
            checks.append(self._object(schema))
        if keys & _ARRAY:
            checks.append(self._array(schema))
        if keys & _STRING:
            checks.append(self._string(schema))
        if keys & _NUMBER:
            checks.append(self._number(schema))
        if "enum" in schema:
            choices = list(schema["enum"])
            checks.append(lambda v: any(_same_kind_equal(v, c) for c in choices))
        if "const" in schema:
            constant = schema["const"]
            checks.append(lambda v: _same_kind_equal(v, constant))
        if "oneOf" in schema:
            checks.append(self._one_of(schema["oneOf"]))
        if "$ref" in schema:
            checks.append(self._ref(schema["$ref"]))
        return _all(checks)

    @staticmethod
    def _plain_types() -> Predicate:
        """Anything but the plain JSON types (a subclass, a date) is left to jsonschema."""
        return lambda v: type(v) in _JSON_TYPES

    @staticmethod
    def _type(value: str | list[str]) -> Predicate:
        names = [value] if isinstance(value, str) else list(value)
        unknown = [n for n in names if n not in _TYPES]
        if unknown:
            raise Unsupported(f"type {unknown[0]!r}")
        allowed = frozenset(t for n in names for t in _TYPES[n])
        return lambda v: type(v) in allowed

    # Complex by design: one branch per object keyword, on the hot path.
    def _object(self, schema: dict[str, Any]) -> Predicate:  # noqa: C901
        properties = {name: self.compile(sub) for name, sub in schema.get("properties", {}).items()}
        patterns = [
            (re.compile(p), self.compile(sub))
            for p, sub in schema.get("patternProperties", {}).items()
        ]
        extra = (
            self.compile(schema["additionalProperties"])
            if "additionalProperties" in schema
            else None
        )
        names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None
        required = list(schema.get("required", []))
        fewest = schema.get("minProperties", 0)
        most = schema.get("maxProperties")

        def check(v: Any) -> bool:
            if type(v) is not dict:
                return True
            if len(v) < fewest or (most is not None and len(v) > most):
                return False
            for name in required:
                if name not in v:
                    return False
            for key, item in v.items():
                if type(key) is not str or (names is not None and not names(key)):
                    return False
                test = properties.get(key)
                matched = test is not None
                if test is not None and not test(item):
                    return False
                for pattern, pattern_test in patterns:
                    if pattern.search(key):
                        matched = True
                        if not pattern_test(item):
                            return False
                if not matched and extra is not None and not extra(item):
                    return False
            return True

        return check

    def _array(self, schema: dict[str, Any]) -> Predicate:
        items = self.compile(schema["items"]) if "items" in schema else None
        fewest = schema.get("minItems", 0)
        unique = bool(schema.get("uniqueItems", False))

        def check(v: Any) -> bool:
            if type(v) is not list:
                return True
            if len(v) < fewest:
                return False
            if items is not None:
                for item in v:
                    if not items(item):
                        return False
            if unique:
                for item in v:
                    if type(item) is not str:
                        return False  # not certain: jsonschema compares other values its way
                if len(set(v)) != len(v):
                    return False
            return True

        return check

    @staticmethod
    def _string(schema: dict[str, Any]) -> Predicate:
        pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
        shortest = schema.get("minLength", 0)
        longest = schema.get("maxLength")

        def check(v: Any) -> bool:
            if type(v) is not str:
                return True
            if len(v) < shortest or (longest is not None and len(v) > longest):
                return False
            return pattern is None or pattern.search(v) is not None

        return check

    @staticmethod
    def _number(schema: dict[str, Any]) -> Predicate:
        low = schema.get("minimum")
        high = schema.get("maximum")
        above = schema.get("exclusiveMinimum")

        def check(v: Any) -> bool:
            if type(v) not in (int, float):
                return True
            if low is not None and v < low:
                return False
            if high is not None and v > high:
                return False
            return above is None or v > above

        return check

    @staticmethod
    def _one_of(branches: list[Any]) -> Predicate:
        # Exactly one branch must hold, so each branch's "no" must be a real no, not "not
        # certain". That holds for branches made of ``required`` alone (SHREK's alternatives:
        # 'command' or 'exec'); any other branch makes the schema uncompilable.
        names = []
        for sub in branches:
            if not isinstance(sub, dict) or set(sub) - _ANNOTATIONS - {"required"}:
                raise Unsupported("oneOf with branches other than 'required' alternatives")
            names.append(list(sub.get("required", [])))

        def check(v: Any) -> bool:
            if type(v) is not dict:
                return len(names) == 1  # 'required' holds for every non-mapping
            return sum(1 for keys in names if all(k in v for k in keys)) == 1

        return check

    def _ref(self, value: str) -> Predicate:
        if not value.startswith("#/$defs/"):
            raise Unsupported(f"$ref {value!r}")
        if value not in self.refs:
            self.refs[value] = lambda _v: False  # a recursive reference: placeholder
            target = self.root.get("$defs", {}).get(value.removeprefix("#/$defs/"))
            if target is None:
                raise Unsupported(f"$ref {value!r} points nowhere")
            self.refs[value] = self.compile(target)
        refs = self.refs
        return lambda v: refs[value](v)


def compile_schema(schema: dict[str, Any]) -> Predicate:
    """``schema`` as a predicate that is True only for documents jsonschema would accept.

    Raises :class:`Unsupported` when the schema uses a keyword not implemented here."""
    return _Compiler(schema).compile(schema)
