"""The step DAG of a tag as Mermaid (GitHub renders it) or Graphviz DOT, datasets on the edges.

Steps are boxes, external datasets are cylinders; an edge carries the dataset it moves and, for
secondary streams, that it is one. The same text goes into the tag README and ``shrek graph``.
A tag whose steps form a cycle is drawn too (steps by name), the cycle's edges in red: seeing
it is how a user finds it.
"""

from __future__ import annotations

import re
import subprocess
from graphlib import CycleError, TopologicalSorter
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

from shrek.core.model import Tag
from shrek.core.registry import Registry
from shrek.errors import ExitCode, Finding, ShrekError


class Edge(NamedTuple):
    source: str  # a step name, or an external dataset name
    target: str  # a step name
    label: str
    external: bool
    secondary: bool


def load_for_drawing(registry: Registry, name: str) -> tuple[Tag, list[Finding]]:
    """The tag as far as it loads, and its validation findings: a broken tag can be drawn
    (only a tag.yaml that does not load cannot)."""
    from shrek.core.validate import load_for_looking

    return load_for_looking(registry, name, "drawn")


def drawing_order(tag: Tag) -> list[str]:
    """The steps in DAG order, or by name when they form a cycle (which is then drawn)."""
    return sorted(tag.steps) if cycle(tag) else tag.order()


def cycle(tag: Tag) -> list[str]:
    """The steps of one cycle in the DAG, first repeated last (``a b a``); [] when none."""
    dependencies = tag.dependencies()
    sorter = TopologicalSorter({n: dependencies.get(n, set()) for n in tag.steps})
    try:
        sorter.prepare()
    except CycleError as exc:
        return list(reversed(exc.args[1]))  # graphlib lists it against the edges' direction
    return []


def _in_cycle(edge: Edge, steps: list[str]) -> bool:
    pairs = set(pairwise(steps))
    return not edge.external and (edge.source, edge.target) in pairs


def edges(tag: Tag) -> list[Edge]:
    found = []
    for name in drawing_order(tag):
        for item in tag.steps[name].inputs:
            made_by = tag.producer(item)
            per_job = f"{item.files_per_job}/job"
            kind = f"secondary, {per_job}" if item.secondary else per_job
            if made_by:
                found.append(
                    Edge(made_by[0], name, f"{made_by[1]} ({kind})", False, item.secondary)
                )
            else:
                found.append(Edge(item.dataset, name, kind, True, item.secondary))
    return found


def _node_id(name: str, external: bool) -> str:
    return ("d_" if external else "s_") + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _step_label(tag: Tag, name: str) -> str:
    step = tag.steps[name]
    size = f"{step.jobs} jobs" if step.jobs else "per input"
    outputs = ", ".join(o.name for o in step.outputs)
    return f"{name}<br/>{size}; writes {outputs}"


def mermaid(tag: Tag) -> str:
    lines = ["flowchart LR"]
    looping = cycle(tag)
    if looping:
        lines.append(f"  %% the steps form a cycle: {' -> '.join(looping)}")
    for name in drawing_order(tag):
        lines.append(f'  {_node_id(name, False)}["{_step_label(tag, name)}"]')
    seen = set()
    for edge in edges(tag):
        if edge.external and edge.source not in seen:
            seen.add(edge.source)
            lines.append(f'  {_node_id(edge.source, True)}[("{edge.source}")]')
    for number, edge in enumerate(edges(tag)):
        arrow = "-.->" if edge.secondary else "-->"
        lines.append(
            f'  {_node_id(edge.source, edge.external)} {arrow}|"{edge.label}"| '
            f"{_node_id(edge.target, False)}"
        )
        if _in_cycle(edge, looping):
            lines.append(f"  linkStyle {number} stroke:#d00,stroke-width:3px")
    return "\n".join(lines) + "\n"


def _dot_quote(*lines: str) -> str:
    """A DOT string; several lines are joined with DOT's own line break."""
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return '"' + "\\n".join(escaped) + '"'


def dot(tag: Tag) -> str:
    lines = [
        f"digraph {_dot_quote(tag.name)} {{",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
    ]
    looping = cycle(tag)
    for name in drawing_order(tag):
        label = _dot_quote(*_step_label(tag, name).split("<br/>"))
        lines.append(f"  {_node_id(name, False)} [shape=box, style=rounded, label={label}];")
    seen = set()
    for edge in edges(tag):
        if edge.external and edge.source not in seen:
            seen.add(edge.source)
            lines.append(
                f"  {_node_id(edge.source, True)} [shape=cylinder, "
                f"label={_dot_quote(edge.source)}];"
            )
    for edge in edges(tag):
        style = ", style=dashed" if edge.secondary else ""
        if _in_cycle(edge, looping):
            style += ', color="#dd0000", penwidth=3, xlabel="cycle"'
        lines.append(
            f"  {_node_id(edge.source, edge.external)} -> "
            f"{_node_id(edge.target, False)} [label={_dot_quote(edge.label)}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_image(text: str, output: Path) -> None:
    """Render DOT text to ``output`` (.svg or .png) with Graphviz's ``dot``."""
    kind = output.suffix.lower().lstrip(".")
    if kind not in ("svg", "png"):
        raise ShrekError(
            f"cannot render a graph as '.{kind}'", "use a .svg or .png file name", ExitCode.USAGE
        )
    if not output.parent.is_dir():
        raise ShrekError(
            f"cannot write {output}: the directory {output.parent} does not exist",
            "create it, or choose another file",
            ExitCode.FILESYSTEM,
        )
    import shutil  # (with bz2 and lzma) only to draw: the README's mermaid text needs none

    program = shutil.which("dot")
    if program is None:
        raise ShrekError(
            "Graphviz is not installed, so the graph cannot be drawn",
            "install it (apt-get install graphviz, or your system's package), or "
            "print the graph with --format dot / mermaid",
            ExitCode.TOOL_MISSING,
        )
    run = subprocess.run(
        [program, f"-T{kind}", "-o", str(output)], input=text.encode(), capture_output=True
    )
    if run.returncode != 0:
        raise ShrekError(
            f"Graphviz failed: {run.stderr.decode(errors='replace').strip()}",
            "report this as a SHREK bug",
            ExitCode.TOOL_MISSING,
        )
