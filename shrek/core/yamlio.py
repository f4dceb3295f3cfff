"""YAML in and out, keeping the line and column of every key and value.

Validation must name ``file:line:column`` for every problem, so documents are loaded once
into plain Python data *and* a map from each path (``("inputs", "0", "dataset")``) to where it
stands in the file. PyYAML's C loader is used when present: parsing thousands of step files is
the hot path of ``shrek validate``.

Every registry file is read under explicit bounds, because a registry is edited by many hands
and checked by CI runners: its size (before parsing), and — checked on PyYAML's event stream
before anything is composed — its nesting depth, the number of aliases and the size their
expansion would reach, and recursive aliases. A billion-laughs file, a 50,000-level nesting
(which crashes the C composer) or ``a: &a [*a]`` is one finding at the line where the bound is
crossed, never a hang, a crash or a traceback. A key YAML reads as anything but a string
(``2022:``, ``on:``, ``~:``) is a finding too, and so are git conflict markers and tab
indentation, each named as such.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    ScalarEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shrek.errors import ExitCode, Finding, ShrekError

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# YAML 1.2 core schema (YAML 1.2.2, 10.3.2). PyYAML resolves plain scalars by YAML 1.1 rules,
# under which `no` is false, `1:20` is 80 and `012` is 10: a value would reach the job as
# something else than the user wrote. Under the core schema those stay strings; what is still
# read as a number or a boolean but would be written back differently (`012`, `0x1F`, `1.50`,
# `True`) is noted by the loader, and validation makes it a finding with the quoted form.
_CORE_RESOLVERS = (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
)


class Loader(_BaseLoader):
    """PyYAML's safe loader (C when present) reading plain scalars by the YAML 1.2 core schema.

    ``rewritten`` lists each number or boolean whose value, written back, would not be the
    text in the file: ``(line, column, text, value)``."""

    yaml_implicit_resolvers: ClassVar[dict] = {}  # only the core resolvers added below

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.rewritten: list[tuple[int, int, str, object]] = []

    def _note(self, node: ScalarNode, value: object, written: str) -> object:
        if not node.style and node.value != written:
            mark = node.start_mark
            self.rewritten.append((mark.line + 1, mark.column + 1, node.value, value))
        return value

    def construct_core_int(self, node: ScalarNode) -> object:
        text = node.value
        if text.startswith(("0x", "0o")):
            value = int(text[2:], 16 if text[1] == "x" else 8)
        else:
            value = int(text)
        return self._note(node, value, str(value))

    def construct_core_float(self, node: ScalarNode) -> object:
        text = node.value.lower()
        if text.endswith((".inf", ".nan")):
            value = float(text.replace(".", ""))
            written = {"inf": ".inf", "-inf": "-.inf", "nan": ".nan"}[repr(value)]
        else:
            value = float(text)
            written = repr(value)
        return self._note(node, value, written)

    def construct_core_bool(self, node: ScalarNode) -> object:
        value = node.value.lower() == "true"
        return self._note(node, value, "true" if value else "false")

    # PyYAML's resolver also walks path resolvers for every node; this loader has none, and
    # the C parser calls these three for each of a file's nodes (a tenth of reading a record).
    def descend_resolver(self, current_node: Node | None, current_index: object) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        """PyYAML's ``resolve`` without path resolvers: a plain scalar by the implicit
        resolvers of its first character, anything else by its kind's default tag."""
        if kind is ScalarNode and implicit[0]:
            known = _PLAIN_TAGS.get(value)
            if known is not None:
                return known
            tag = _DEFAULT_TAGS[kind]
            for implied, pattern in _BY_FIRST.get(value[:1], _ANY_FIRST):
                if pattern.match(value):
                    tag = implied
                    break
            if len(value) <= _REMEMBERED_LENGTH and len(_PLAIN_TAGS) < _REMEMBERED:
                _PLAIN_TAGS[value] = tag
            return tag
        return _DEFAULT_TAGS[kind]


for _tag, _pattern, _first in _CORE_RESOLVERS:
    Loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)
Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_core_int)
Loader.add_constructor("tag:yaml.org,2002:float", Loader.construct_core_float)
Loader.add_constructor("tag:yaml.org,2002:bool", Loader.construct_core_bool)
# the implicit resolvers by a scalar's first character ('' for the empty scalar), each list
# followed by the resolvers for any character, in the order PyYAML tries them
_ANY_FIRST = tuple(Loader.yaml_implicit_resolvers.get(None, ()))
_BY_FIRST = {
    first: (*resolvers, *_ANY_FIRST)
    for first, resolvers in Loader.yaml_implicit_resolvers.items()
    if first is not None
}
# The tags of plain scalars already resolved (keys, states, small numbers repeat across every
# file): one dict look-up instead of the resolvers' regular expressions. Bounded.
_PLAIN_TAGS: dict[str, str] = {}
_REMEMBERED, _REMEMBERED_LENGTH = 16_384, 64
_DEFAULT_TAGS = {
    ScalarNode: Loader.DEFAULT_SCALAR_TAG,
    SequenceNode: Loader.DEFAULT_SEQUENCE_TAG,
    MappingNode: Loader.DEFAULT_MAPPING_TAG,
}


class Dumper(_BaseDumper):
    """PyYAML's safe dumper, quoting every string that YAML 1.1 *or* 1.2 would read as
    something else (``no`` for 1.1, ``1e3`` or ``0o17`` for 1.2): what SHREK writes reads back
    the same under either."""


for _tag, _pattern, _first in _CORE_RESOLVERS[:3]:
    Dumper.add_implicit_resolver(_tag, re.compile(_pattern), _first)

PathKey = tuple[str, ...]

# Bounds on every YAML file SHREK reads (each crossed bound is a finding naming it).
MAX_FILE_BYTES = 2 * 1024 * 1024  # the largest freeze.yaml of a real tag is a few hundred KiB
MAX_DEPTH = 64  # nesting levels; SHREK's own formats use at most 6
MAX_ALIASES = 100  # alias uses (*name) in one file
MAX_EXPANDED_NODES = 200_000  # nodes once every alias is expanded

# Only text that could nest deeply or use aliases needs the event pass before composing: an
# anchor or alias (& or * after a separator), a flow collection opening where a value starts
# (not ${...} inside a command), or indentation as deep as the depth bound. Found by scanning
# for the few candidate characters (C speed) and looking at what precedes each: one regular
# expression with those alternatives tried at every position cost a third of a bare parse.
_ANCHOR_OR_ALIAS = re.compile(r"[&*]")
_FLOW_OPENING = re.compile(r"[\[{]")
_CLOSING = {"[": "]", "{": "}"}
# what may stand just before a flow collection's opening: a blank (then the last non-blank
# character of the line decides), a line's start, or one of the characters that decide
_MAY_PRECEDE_FLOW = frozenset(" \t\n:,[{-")
_DEEP_INDENT = re.compile(r"^[ -]{" + str(MAX_DEPTH) + "}", re.M)


def _risky(text: str) -> bool:
    """Whether ``text`` may hold an anchor, an alias, a flow collection or deep nesting."""
    # substring tests first: most files have neither, and they cost nothing
    if ("&" in text or "*" in text) and _anchor_or_alias(text):
        return True
    if ("[" in text or "{" in text) and _flow_collection(text):
        return True
    return _DEEP_INDENT.search(text) is not None


def _anchor_or_alias(text: str) -> bool:
    """Whether an ``&`` or ``*`` stands where YAML reads an anchor or an alias."""
    for match in _ANCHOR_OR_ALIAS.finditer(text):
        at = match.start()
        if at == 0 or text[at - 1].isspace() or text[at - 1] in "[{,":
            return True
    return False


def _flow_collection(text: str) -> bool:
    """Whether a non-empty flow collection (``[a]``, ``{a: 1}``) opens where YAML reads one."""
    for match in _FLOW_OPENING.finditer(text):
        at = match.start()
        if at and text[at - 1] not in _MAY_PRECEDE_FLOW:
            continue  # inside a plain scalar (${name}, IN[@]): what precedes is not blank
        if text[at + 1 : at + 2] == _CLOSING[text[at]]:
            continue  # an empty collection ({} or []): one level, nothing inside
        before = text[text.rfind("\n", 0, at) + 1 : at].rstrip(" \t")
        if not before or before[-1] in ":,[{-":
            return True
    return False


_CONFLICT = re.compile(r"^(<{7}|={7}|>{7})(?: |$)", re.M)


class Document:
    """A loaded YAML document: its data plus where each value and key stands in the file.

    The map of positions is built on the first lookup, by composing the text again: nearly
    every document is valid and never asked where anything is. Building the map for each was
    a seventh of a cold ``validate``, and keeping every node tree alive for later made
    Python's garbage collector walk them over and over (a quarter of it)."""

    __slots__ = ("_keys", "_values", "data", "file", "text", "unusable")

    def __init__(self, file: str, data: Any, text: str = "") -> None:
        self.file = file  # display path, relative to the registry root
        self.data = data
        self.text = text
        self.unusable = False  # a problem found while indexing makes the data unsafe to check
        self._values: dict[PathKey, tuple[int, int]] | None = None
        self._keys: dict[PathKey, tuple[int, int]] = {}

    def __repr__(self) -> str:
        return f"Document({self.file!r})"

    @property
    def values(self) -> dict[PathKey, tuple[int, int]]:
        """Where each value stands: path -> (line, column)."""
        if self._values is None:
            self._values = {}
            node = _compose(self.text) if self.text else None
            if node is not None:
                _index(self, node, (), [])
        return self._values

    @property
    def keys(self) -> dict[PathKey, tuple[int, int]]:
        """Where each mapping key stands: path -> (line, column)."""
        self.values  # noqa: B018 - builds both maps
        return self._keys

    def where(self, path: Sequence[object], *, key: bool = False) -> tuple[int, int]:
        """Line and column of ``path`` (its key when ``key``), else of its nearest ancestor."""
        parts = tuple(str(p) for p in path)
        values, keys = self.values, self.keys
        if key and parts in keys:
            return keys[parts]
        while parts:
            if parts in values:
                return values[parts]
            parts = parts[:-1]
        return values.get((), (1, 1))

    def locate_text(self, path: Sequence[object], needle: str) -> tuple[int, int]:
        """Where ``needle`` first occurs at or after the value at ``path`` (for scalar bodies
        such as a multi-line ``command``); the value's own position when it does not occur."""
        line, column = self.where(path)
        lines = self.text.splitlines()
        for number in range(line - 1, len(lines)):
            start = column - 1 if number == line - 1 else 0
            found = lines[number].find(needle, start)
            if found >= 0:
                return number + 1, found + 1
        return line, column

    def finding(
        self, path: Sequence[object], message: str, fix: str = "", *, key: bool = False
    ) -> Finding:
        line, column = self.where(path, key=key)
        return Finding(self.file, line, column, message, fix)


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


_STRING_TAG = "tag:yaml.org,2002:str"
_KEY_TYPES = {
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:null": "null (empty)",
    "tag:yaml.org,2002:timestamp": "a date",
}


def _key_problem(doc: Document, key_node: Node) -> Finding | None:
    """Every key SHREK reads is a name: YAML must read it as a string."""
    line, column = _mark(key_node)
    if not isinstance(key_node, ScalarNode):
        return Finding(doc.file, line, column, "a key is a list or a mapping", "use a plain name")
    if key_node.tag == _STRING_TAG:
        return None
    kind = _KEY_TYPES.get(key_node.tag, key_node.tag)
    return Finding(
        doc.file,
        line,
        column,
        f"key '{key_node.value}' is read by YAML as {kind}, not as a name",
        f"quote it: '{key_node.value}':",
    )


def _index(doc: Document, node: Node, path: PathKey, problems: list[Finding]) -> None:
    if doc._values is None:
        doc._values = {}
    doc._values[path] = _mark(node)
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
            line, column = _mark(key_node)
            wrong = _key_problem(doc, key_node) if key != "<<" else None
            if wrong:
                problems.append(wrong)
                doc.unusable = True
            if key in seen and key != "<<":
                problems.append(
                    Finding(
                        doc.file,
                        line,
                        column,
                        f"duplicate key '{key}' (first on line {seen[key]}); YAML keeps only "
                        "the last one",
                        "remove one of the two entries",
                    )
                )
            seen.setdefault(key, line)
            doc._keys[(*path, key)] = (line, column)
            _index(doc, value_node, (*path, key), problems)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _index(doc, item, (*path, str(i)), problems)


def _compose(text: str) -> Node | None:
    """The node tree of text that parsed before (bounds already checked)."""
    loader = Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _keys_are_plain(node: Node) -> bool:
    """Whether every mapping key in the tree is a string and none repeats: the common case,
    checked without building the position map (:func:`_index` finds and places problems).
    (Exact type checks and local names: this runs for every file validation reads.)"""
    stack = [node]
    pop, push, extend = stack.pop, stack.append, stack.extend
    mapping, sequence, scalar, string = MappingNode, SequenceNode, ScalarNode, _STRING_TAG
    while stack:
        current = pop()
        kind = type(current)
        if kind is mapping:
            pairs = current.value
            for key, value in pairs:
                if type(key) is not scalar or key.tag != string:
                    return False
                push(value)
            names = {key.value for key, _ in pairs}
            if len(names) != len(pairs) or "<<" in names:
                return False
        elif kind is sequence:
            extend(current.value)
    return True


class _Unusual(Exception):
    """A document :func:`_construct_plain` leaves to PyYAML's constructor."""


_CORE = "tag:yaml.org,2002:"
_NULL_TAG, _MAP_TAG, _SEQ_TAG = f"{_CORE}null", f"{_CORE}map", f"{_CORE}seq"


def _construct_plain(loader: Loader, root: Node) -> Any:
    """The data of a *plain* document — core-schema scalars, mappings whose keys are strings,
    none repeated, sequences, no node reached twice (an alias) — built directly, or
    :class:`_Unusual` at the first thing that is not plain.

    PyYAML's constructor costs as much as parsing: a generator and a dispatch per node, for
    recursive structures and tags SHREK's files never hold. For a plain document the result
    is the same data PyYAML builds (its numbers and booleans through the same core-schema
    constructors, which note rewritten values), and its keys are already known to be plain
    (what :func:`_keys_are_plain` checks). Depth is bounded before this runs (``_risky``)."""
    seen: set[int] = set()
    numbers: dict[str, Callable[[ScalarNode], object]] = {
        f"{_CORE}int": loader.construct_core_int,
        f"{_CORE}float": loader.construct_core_float,
        f"{_CORE}bool": loader.construct_core_bool,
    }
    mapping, sequence, scalar = MappingNode, SequenceNode, ScalarNode
    string, null, map_tag, seq_tag = _STRING_TAG, _NULL_TAG, _MAP_TAG, _SEQ_TAG

    def build(node: Node) -> Any:
        kind, tag = type(node), node.tag
        if kind is scalar:
            if tag == string:
                return node.value
            if tag == null:
                return None
            number = numbers.get(tag)
            if number is None:
                raise _Unusual
            return number(node)  # type: ignore[arg-type]  # a ScalarNode: checked above
        if id(node) in seen:
            raise _Unusual
        seen.add(id(node))
        if kind is mapping and tag == map_tag:
            pairs = node.value
            data = {}
            for key, value in pairs:
                if type(key) is not scalar or key.tag != string:
                    raise _Unusual
                data[key.value] = build(value)
            if len(data) != len(pairs) or "<<" in data:
                raise _Unusual  # a repeated key, a merge key: the position map names them
            return data
        if kind is sequence and tag == seq_tag:
            return [build(item) for item in node.value]
        raise _Unusual

    return build(root)


TOO_DEEP = (
    f"nesting deeper than {MAX_DEPTH} levels",
    "flatten the document; SHREK's files nest a few levels at most",
)


class _Bound(Exception):
    """A bound crossed while reading the event stream: where, and what to say."""

    def __init__(self, line: int, column: int, message: str, fix: str) -> None:
        super().__init__(message)
        self.finding = (line, column, message, fix)


# Complex by design: one pass over the event stream, on the hot path.
def _check_bounds(text: str) -> None:  # noqa: C901
    """Walk PyYAML's event stream (libyaml's parser is iterative: no recursion, no expansion)
    and raise :class:`_Bound` at the first crossed bound."""
    depth = aliases = total = 0
    sizes: list[int] = []  # nodes inside each open collection
    anchors: dict[str, int | None] = {}  # anchor -> expanded size (None: still open)
    open_anchors: list[str | None] = []
    for event in yaml.parse(text, Loader=Loader):
        mark = event.start_mark
        where = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        if isinstance(event, AliasEvent):
            aliases += 1
            size = anchors.get(event.anchor or "", 1)
            if size is None:
                raise _Bound(
                    *where,
                    f"alias *{event.anchor} refers to itself (a recursive structure)",
                    "write the value out instead of aliasing its parent",
                )
            if aliases > MAX_ALIASES:
                raise _Bound(
                    *where,
                    f"more than {MAX_ALIASES} aliases in one file",
                    "write the values out; SHREK's files need no aliases",
                )
        elif isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Bound(*where, *TOO_DEEP)
            sizes.append(1)
            open_anchors.append(event.anchor)
            if event.anchor:
                anchors[event.anchor] = None
            continue
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
            size = sizes.pop()
            anchor = open_anchors.pop()
            if anchor:
                anchors[anchor] = size
        elif isinstance(event, ScalarEvent):
            size = 1
            if event.anchor:
                anchors[event.anchor] = 1
        else:
            continue
        total += size
        if sizes:
            sizes[-1] += size
        if total > MAX_EXPANDED_NODES:
            raise _Bound(
                *where,
                f"the aliases expand to more than {MAX_EXPANDED_NODES:,} values (an alias bomb?)",
                "write the values out without aliases",
            )


def _syntax_finding(text: str, file: str, exc: yaml.MarkedYAMLError) -> Finding:
    """PyYAML's complaint, told in the words of the usual causes where one is recognised."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    what = " ".join(p for p in (exc.context, exc.problem) if p)
    if "maximum nesting depth" in what:
        # PyYAML 6.0.4's own flow-nesting limit, met while its scanner reads ahead of the
        # event walk of _check_bounds: the same bound, said the same way
        return Finding(file, line, column, *TOO_DEEP)
    conflict = _CONFLICT.search(text)
    if conflict:
        line = text.count("\n", 0, conflict.start()) + 1
        return Finding(
            file,
            line,
            1,
            "invalid YAML: an unresolved git merge conflict (a '<<<<<<<', '=======' or "
            "'>>>>>>>' line)",
            "resolve the conflict: keep the right lines, remove the markers",
        )
    lines = text.splitlines()
    tabbed = next((n for n, t in enumerate(lines, 1) if re.match(r"[ ]*\t", t)), 0)
    if (
        "\t" in what
        or (tabbed and "found character '\\t'" in str(exc))
        or (tabbed and tabbed <= line)
    ):
        return Finding(
            file,
            tabbed or line,
            1,
            "invalid YAML: a tab indents this line (YAML indents with spaces only)",
            "replace the tab with spaces",
        )
    missing = _missing_colon(lines, line)
    if missing:
        return Finding(
            file,
            missing,
            1,
            f"invalid YAML: '{lines[missing - 1].strip()}' is not 'key: value' (the colon is "
            "missing)",
            "write 'key: value' (a colon and a space after the key)",
        )
    return Finding(
        file,
        line,
        column,
        f"invalid YAML: {what}",
        "fix the YAML syntax here (check indentation, colons and quoting)",
    )


def _missing_colon(lines: list[str], line: int) -> int:
    """The line just before or at the error that reads ``key value``: a colon left out."""
    for number in range(max(1, line - 2), min(line, len(lines)) + 1):
        stripped = lines[number - 1].strip()
        if re.fullmatch(r"[A-Za-z_][\w.-]*[ \t]+[^:#\s][^:#]*", stripped):
            return number
    return 0


def parse_yaml(text: str, file: str) -> tuple[Document | None, list[Finding]]:
    """Parse ``text`` under the bounds; return the document (None when unreadable) and any
    problems found."""
    problems: list[Finding] = []
    try:
        if _risky(text):
            _check_bounds(text)
    except _Bound as bound:
        return None, [Finding(file, *bound.finding)]
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_finding(text, file, exc)]
    except yaml.YAMLError as exc:
        return None, [Finding(file, 0, 0, f"invalid YAML: {exc}", "fix the YAML syntax")]
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        plain = False
        if node is not None:
            try:
                data, plain = _construct_plain(loader, node), True
            except _Unusual:
                loader.rewritten.clear()  # noted again by PyYAML's constructor
                data = loader.construct_document(node)
        else:
            data = None
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_finding(text, file, exc)]
    except yaml.YAMLError as exc:  # errors without a position (rare: e.g. stream encoding)
        return None, [Finding(file, 0, 0, f"invalid YAML: {exc}", "fix the YAML syntax")]
    except ValueError:  # an integer of thousands of digits (Python refuses to convert it)
        huge = re.search(r"\d{1000,}", text)
        line = text.count("\n", 0, huge.start()) + 1 if huge else 0
        return None, [
            Finding(file, line, 1, "a number of more than 1,000 digits", "give a sensible number")
        ]
    finally:
        loader.dispose()
    # in the order of the file (PyYAML builds nested mappings after their parents' scalars)
    noted = sorted(loader.rewritten, key=lambda found: found[:2])
    problems.extend(_rewritten_finding(file, *found) for found in noted)
    doc = Document(file, data, text=text)
    if node is not None and not plain and not _keys_are_plain(node):
        _index(doc, node, (), problems)
    if doc.unusable:  # e.g. a key that is not a string: no check below may trip on it
        return None, problems
    return doc, problems


def _rewritten_finding(file: str, line: int, column: int, text: str, value: object) -> Finding:
    """A number or boolean YAML reads as something else than the text written."""
    if isinstance(value, bool):
        shown = "true" if value else "false"
        return Finding(
            file,
            line,
            column,
            f"YAML reads {text} as the boolean {shown}",
            f"write {shown}, or quote it ('{text}') to keep the text",
        )
    shown = repr(value) if isinstance(value, float) else str(value)
    return Finding(
        file,
        line,
        column,
        f"YAML reads {text} as the number {shown}, not as written",
        f"quote it ('{text}') to keep it as written, or write {shown}",
    )


def special_file(mode: int) -> str | None:
    """What a file that is not a regular file is (reading a FIFO waits for a writer forever,
    a device may never end): checked from ``stat`` before anything opens it."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def _special_finding(file: str, kind: str) -> Finding:
    return Finding(
        file,
        0,
        0,
        f"is {kind}, not a regular file; SHREK does not open it",
        "replace it by the YAML file (e.g. git checkout -- the file), or remove it",
    )


def load_yaml(
    path: Path, file: str, raw: bytes | None = None
) -> tuple[Document | None, list[Finding]]:
    """Read and parse a YAML file; unreadable files become findings, not exceptions. ``raw``:
    the file's bytes, when the caller read them already (a record is hashed and parsed from
    one read, so its cache entry is the data of the very bytes it is keyed by)."""
    if raw is not None and len(raw) <= MAX_FILE_BYTES:
        return _parse_raw(raw, file)
    try:
        info = path.stat()
        kind = special_file(info.st_mode)
        if kind:
            return None, [_special_finding(file, kind)]
        size = info.st_size
        if size > MAX_FILE_BYTES:
            return None, [
                Finding(
                    file,
                    0,
                    0,
                    f"file is {size:,} bytes; SHREK reads YAML files of at most "
                    f"{MAX_FILE_BYTES:,} bytes",
                    "this is not a file SHREK wrote or a person edits: restore it from git",
                )
            ]
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Finding(file, 0, 0, "file does not exist", "create it")]
    except OSError as exc:
        return None, [Finding(file, 0, 0, f"cannot read file: {exc.strerror}", "check permissions")]
    return _parse_raw(raw, file)


def _parse_raw(raw: bytes, file: str) -> tuple[Document | None, list[Finding]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Finding(file, line, 1, "file is not UTF-8 text", "save the file as UTF-8")]
    doc, problems = parse_yaml(text, file)
    if doc is not None and doc.data is None:
        problems.append(Finding(file, 1, 1, "file is empty", "fill in the document"))
        return None, problems
    return doc, problems


# Characters PyYAML writes raw with allow_unicode but reads back as line breaks (NEL, LS, PS).
_BREAKS = ("\x85", "\u2028", "\u2029")


def load_data(path: Path, file: str) -> Any:
    """The data of a YAML file SHREK wrote itself, under the same bounds but without the
    position map (the fast path for reading many records); a file that breaks a bound or does
    not parse raises one ShrekError naming the file and line."""
    problem: Finding | None = None
    try:
        info = path.stat()
        kind = special_file(info.st_mode)
        if kind:
            problem = _special_finding(file, kind)
        elif info.st_size > MAX_FILE_BYTES:
            problem = Finding(file, 0, 0, f"file is over {MAX_FILE_BYTES:,} bytes", "")
        else:
            text = path.read_bytes().decode("utf-8")
            if _risky(text):
                _check_bounds(text)
            return yaml.load(text, Loader=Loader)
    except _Bound as bound:
        problem = Finding(file, *bound.finding)
    except UnicodeDecodeError:
        problem = Finding(file, 0, 0, "file is not UTF-8 text", "")
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = Finding(file, line, column, f"invalid YAML: {exc}".splitlines()[0], "")
    raise ShrekError(
        f"{problem.location}: {problem.message}",
        "restore the file from git (SHREK writes it; it is not edited by hand)",
        ExitCode.INVALID,
    )


def loads(text: str) -> Any:
    """The data of short YAML text (a command-line value, a file SHREK rendered), read by the
    same YAML 1.2 core rules as every registry file; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=Loader)


def dump_yaml(data: Any, header: str = "", *, width: int = 100) -> str:
    """Serialise ``data`` deterministically (key order kept, block style, unicode as is).

    A string holding a character YAML reads as a line break (U+0085, U+2028, U+2029) would not
    come back as written: such a document is written with every non-ASCII character escaped.
    """
    text = yaml.dump(
        data,
        Dumper=Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=width,
    )
    if any(mark in text for mark in _BREAKS):
        text = yaml.dump(
            data, Dumper=Dumper, sort_keys=False, default_flow_style=False, width=width
        )
    return header + text


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half.

    The data goes to a temporary file in the same directory, is flushed to disk, then renamed
    over the target (an atomic operation on POSIX file systems).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _new_temporary(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_temporary(path: Path) -> tuple[int, str]:
    """A new file beside ``path`` (``.NAME.RANDOM.tmp``), open for writing, made by this call
    alone (``O_EXCL``), as ``tempfile.mkstemp`` makes one (whose import, with ``random``,
    costs a command that writes 1 ms)."""
    for _ in range(100):
        name = os.path.join(path.parent, f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")
