"""A tag's steps as an SVG drawing, laid out by grandalf's Sugiyama layout (layers from the
DAG's edges, crossings reduced), never by hand: a production's shape reads at a glance."""

from __future__ import annotations

from html import escape

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

BOX_W, BOX_H = 180, 36  # a step's box; names longer than fit are shortened with '…'
MARGIN = 12
CHARS = 24


class _Box:
    """grandalf's view of a vertex: its size in, its centre out (``xy``)."""

    def __init__(self) -> None:
        self.w, self.h = BOX_W, BOX_H
        self.xy = (0.0, 0.0)


class _Route:
    """grandalf's view of an edge: the points of its route."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = list(points)


def dag_svg(
    steps: list[str],
    edges: list[tuple[str, str]],
    states: dict[str, str],
    links: dict[str, str],
) -> str:
    """The SVG of ``steps`` (in DAG order) joined by ``edges`` (producer, consumer); each box
    coloured by ``states`` and linked to ``links[step]`` (its place on the page)."""
    if not steps:
        return ""
    vertices = {name: Vertex(name) for name in steps}
    for vertex in vertices.values():
        vertex.view = _Box()
    arcs = []
    for source, target in edges:
        arc = Edge(vertices[source], vertices[target])
        arc.view = _Route()
        arcs.append(arc)
    graph = Graph(list(vertices.values()), arcs)
    offset = 0.0
    for component in graph.C:  # each connected part laid out, then placed beside the last
        layout = SugiyamaLayout(component)
        layout.xspace, layout.yspace = 24, 44
        layout.init_all()
        layout.draw()
        xs = [v.view.xy[0] for v in component.sV]
        shift = offset - min(xs) + BOX_W / 2
        for vertex in component.sV:
            x, y = vertex.view.xy
            vertex.view.xy = (x + shift, y)
        for arc in component.sE:
            arc.view.points = [(x + shift, y) for x, y in arc.view.points]
        offset = max(v.view.xy[0] for v in component.sV) + BOX_W / 2 + 32
    width = offset - 32 + 2 * MARGIN
    height = max(v.view.xy[1] for v in vertices.values()) + BOX_H / 2 + 2 * MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" role="img" '
        f'viewBox="{-MARGIN} {-MARGIN} {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}">',
        f"<title>{len(steps)} step(s) and {len(edges)} dataset edge(s)</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z"/></marker></defs>',
    ]
    for arc in arcs:
        points = arc.view.points or [arc.v[0].view.xy, arc.v[1].view.xy]
        (x0, y0), (x1, y1) = points[0], points[-1]
        middle = "".join(f" L{x:.0f},{y:.0f}" for x, y in points[1:-1])
        parts.append(
            f'<path class="edge" d="M{x0:.0f},{y0 + BOX_H / 2:.0f}{middle} '
            f'L{x1:.0f},{y1 - BOX_H / 2:.0f}" marker-end="url(#arrow)"/>'
        )
    for name in steps:
        x, y = vertices[name].view.xy
        shown = name if len(name) <= CHARS else name[: CHARS - 1] + "…"
        state = states.get(name, "never")
        parts.append(
            f'<a href="{escape(links.get(name, "#"))}"><g class="step {escape(state)}">'
            f"<title>{escape(name)}: {escape(state)}</title>"
            f'<rect x="{x - BOX_W / 2:.0f}" y="{y - BOX_H / 2:.0f}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="6"/>'
            f'<text x="{x:.0f}" y="{y + 5:.0f}" text-anchor="middle">{escape(shown)}</text>'
            "</g></a>"
        )
    parts.append("</svg>")
    return "".join(parts)
