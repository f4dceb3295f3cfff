"""YAML in and out, keeping the line and column of every key and value.

Validation must name ``file:line:column`` for every problem, so documents are loaded once
into plain Python data *and* a map from each path (``("inputs", "0", "dataset")``) to where it
stands in the file. PyYAML's C loader is used when present: parsing thousands of step files is
the hot path of ``shrek validate``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shrek.errors import Finding

Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Dumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

PathKey = tuple[str, ...]


@dataclass
class Document:
    """A loaded YAML document: its data plus where each value and key stands in the file."""

    file: str  # display path, relative to the registry root
    data: Any
    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    text: str = ""

    def where(self, path: Sequence[object], *, key: bool = False) -> tuple[int, int]:
        """Line and column of ``path`` (its key when ``key``), else of its nearest ancestor."""
        parts = tuple(str(p) for p in path)
        if key and parts in self.keys:
            return self.keys[parts]
        while parts:
            if parts in self.values:
                return self.values[parts]
            parts = parts[:-1]
        return self.values.get((), (1, 1))

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


def _index(doc: Document, node: Node, path: PathKey, problems: list[Finding]) -> None:
    doc.values[path] = _mark(node)
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
            line, column = _mark(key_node)
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
            doc.keys[(*path, key)] = (line, column)
            _index(doc, value_node, (*path, key), problems)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _index(doc, item, (*path, str(i)), problems)


def parse_yaml(text: str, file: str) -> tuple[Document | None, list[Finding]]:
    """Parse ``text``; return the document (None when unreadable) and any problems found."""
    problems: list[Finding] = []
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        return None, [
            Finding(
                file,
                line,
                column,
                f"invalid YAML: {what}",
                "fix the YAML syntax here (check indentation, colons and quoting)",
            )
        ]
    except yaml.YAMLError as exc:  # errors without a position (rare: e.g. stream encoding)
        return None, [Finding(file, 0, 0, f"invalid YAML: {exc}", "fix the YAML syntax")]
    finally:
        loader.dispose()
    doc = Document(file, data, text=text)
    if node is not None:
        _index(doc, node, (), problems)
    return doc, problems


def load_yaml(path: Path, file: str) -> tuple[Document | None, list[Finding]]:
    """Read and parse a YAML file; unreadable files become findings, not exceptions."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Finding(file, 0, 0, "file does not exist", "create it")]
    except OSError as exc:
        return None, [Finding(file, 0, 0, f"cannot read file: {exc.strerror}", "check permissions")]
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


def dump_yaml(data: Any, header: str = "", *, width: int = 100) -> str:
    """Serialise ``data`` deterministically (key order kept, block style, unicode as is)."""
    text = yaml.dump(
        data,
        Dumper=Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=width,
    )
    return header + text


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half.

    The data goes to a temporary file in the same directory, is flushed to disk, then renamed
    over the target (an atomic operation on POSIX file systems).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
