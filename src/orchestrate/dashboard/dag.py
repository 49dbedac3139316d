"""Laying out a pipeline's step graph for an SVG drawing: pure, so it is tested alone.

A layered ("Sugiyama") layout, left to right as GitHub Actions draws its jobs:

1. **Layers**: a step's column is the longest chain of ``needs`` before it, so every
   edge points right and a step stands as early as its inputs allow.
2. **Dummies**: an edge that skips columns passes through a placeholder in each column
   it crosses, so it is routed around the steps there instead of through them.
3. **Order**: within each column, steps are sorted by the mean position of their
   neighbours in the column before (then after), sweeping both ways a few times and
   keeping the order with the fewest crossings; file order breaks ties and is the start.
4. **Coordinates**: a fixed grid, each column centred on the tallest; an edge is a
   smooth path of cubic curves from a step's right side to its dependent's left side.

Unknown ``needs`` are ignored (validation reports them). A cycle, which a validated
pipeline never has, does not hang the layout: its steps land after the others.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

NODE_WIDTH = 184
NODE_HEIGHT = 46
COLUMN_GAP = 56
ROW_GAP = 18
MARGIN = 8
LABEL_CHARACTERS = 22
_SWEEPS = 4


@dataclass(frozen=True)
class DagNode:
    """A step to draw: ``needs`` are the ids of the steps it comes after; ``tone`` is
    the CSS class of its state (``good``, ``bad``, ``warn``, ``busy`` or none)."""

    id: str
    label: str
    needs: tuple[str, ...] = ()
    tone: str = ""
    detail: str = ""
    href: str | None = None

    @property
    def short_label(self) -> str:
        if len(self.label) <= LABEL_CHARACTERS:
            return self.label
        return self.label[: LABEL_CHARACTERS - 1].rstrip() + "…"


@dataclass(frozen=True)
class PlacedNode:
    node: DagNode
    layer: int
    row: int
    x: float
    y: float
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT


@dataclass(frozen=True)
class PlacedEdge:
    """An edge ``source`` → ``target`` (``target`` needs ``source``), as SVG path data."""

    source: str
    target: str
    path: str


@dataclass(frozen=True)
class DagLayout:
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    width: float
    height: float
    crossings: int = 0


@dataclass
class _Graph:
    """The working graph: real and dummy vertices, edges between adjacent layers."""

    layer: dict[str, int] = field(default_factory=dict)
    successors: dict[str, list[str]] = field(default_factory=dict)
    predecessors: dict[str, list[str]] = field(default_factory=dict)
    chains: list[list[str]] = field(default_factory=list)
    """Each original edge as the vertices it passes: source, dummies…, target."""

    def add_vertex(self, vertex: str, layer: int) -> None:
        self.layer[vertex] = layer
        self.successors.setdefault(vertex, [])
        self.predecessors.setdefault(vertex, [])

    def link(self, source: str, target: str) -> None:
        self.successors[source].append(target)
        self.predecessors[target].append(source)


def longest_path_layers(nodes: Sequence[DagNode]) -> dict[str, int]:
    """Each node's layer: 0 without needs, else one more than its latest need."""
    known = {node.id for node in nodes}
    needs = {node.id: [n for n in dict.fromkeys(node.needs) if n in known] for node in nodes}
    layer: dict[str, int] = {}
    pending = [node.id for node in nodes]
    while pending:
        ready = [n for n in pending if all(need in layer for need in needs[n])]
        if not ready:  # a cycle: place the first waiting step after what is placed
            ready = pending[:1]
        for node_id in ready:
            placed = [layer[need] for need in needs[node_id] if need in layer]
            layer[node_id] = max(placed) + 1 if placed else 0
        pending = [n for n in pending if n not in layer]
    return layer


def _build(nodes: Sequence[DagNode], layer: dict[str, int]) -> _Graph:
    graph = _Graph()
    for node in nodes:
        graph.add_vertex(node.id, layer[node.id])
    for node in nodes:
        for need in dict.fromkeys(node.needs):
            if need not in layer or layer[need] >= layer[node.id]:
                continue  # unknown, or an edge of a cycle
            chain = [need]
            for between in range(layer[need] + 1, layer[node.id]):
                dummy = f"\0{need}\0{node.id}\0{between}"
                graph.add_vertex(dummy, between)
                chain.append(dummy)
            chain.append(node.id)
            for source, target in itertools.pairwise(chain):
                graph.link(source, target)
            graph.chains.append(chain)
    return graph


def _initial_rows(graph: _Graph) -> list[list[str]]:
    """Vertices by layer in insertion order: steps in file order, dummies after them."""
    count = max(graph.layer.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(count)]
    for vertex, layer in graph.layer.items():
        rows[layer].append(vertex)
    return rows


def count_crossings(rows: list[list[str]], graph: _Graph) -> int:
    """Pairs of edges between adjacent layers that cross."""
    total = 0
    for upper, lower in itertools.pairwise(rows):
        position = {vertex: index for index, vertex in enumerate(lower)}
        edges = sorted(
            (top, position[target])
            for top, vertex in enumerate(upper)
            for target in graph.successors[vertex]
        )
        for index, (top, bottom) in enumerate(edges):
            total += sum(
                1 for other_top, other in edges[index + 1 :] if other_top > top and other < bottom
            )
    return total


def _sorted_by_neighbours(
    row: list[str], neighbours: dict[str, list[str]], fixed: list[str]
) -> list[str]:
    """``row`` sorted by the mean position of each vertex's neighbours in ``fixed``."""
    position = {vertex: index for index, vertex in enumerate(fixed)}

    def key(item: tuple[int, str]) -> tuple[float, int]:
        index, vertex = item
        placed = [position[n] for n in neighbours[vertex] if n in position]
        return (sum(placed) / len(placed) if placed else float(index), index)

    return [vertex for _, vertex in sorted(enumerate(row), key=key)]


def order_rows(graph: _Graph) -> list[list[str]]:
    """Rows with few crossings: barycentre sweeps down and up, the best order kept."""
    rows = _initial_rows(graph)
    best, fewest = [list(row) for row in rows], count_crossings(rows, graph)
    for _ in range(_SWEEPS):
        for index in range(1, len(rows)):
            rows[index] = _sorted_by_neighbours(rows[index], graph.predecessors, rows[index - 1])
        for index in range(len(rows) - 2, -1, -1):
            rows[index] = _sorted_by_neighbours(rows[index], graph.successors, rows[index + 1])
        crossings = count_crossings(rows, graph)
        if crossings < fewest:
            best, fewest = [list(row) for row in rows], crossings
        if fewest == 0:
            break
    return best


def layout(nodes: Sequence[DagNode]) -> DagLayout:
    """Positions for ``nodes`` (ids unique, in file order) and paths for their edges."""
    unique = list({node.id: node for node in reversed(nodes)}.values())[::-1]
    graph = _build(unique, longest_path_layers(unique))
    rows = order_rows(graph)
    tallest = max((len(row) for row in rows), default=0)
    corner: dict[str, tuple[float, float]] = {}
    for layer, row in enumerate(rows):
        offset = (tallest - len(row)) * (NODE_HEIGHT + ROW_GAP) / 2
        for index, vertex in enumerate(row):
            x = MARGIN + layer * (NODE_WIDTH + COLUMN_GAP)
            y = MARGIN + offset + index * (NODE_HEIGHT + ROW_GAP)
            corner[vertex] = (x, y)
    placed = [
        PlacedNode(
            node, graph.layer[node.id], rows[graph.layer[node.id]].index(node.id), *corner[node.id]
        )
        for node in unique
    ]
    edges = [
        PlacedEdge(chain[0], chain[-1], _path([corner[v] for v in chain])) for chain in graph.chains
    ]
    width = 2 * MARGIN + len(rows) * NODE_WIDTH + max(len(rows) - 1, 0) * COLUMN_GAP
    height = 2 * MARGIN + tallest * NODE_HEIGHT + max(tallest - 1, 0) * ROW_GAP
    return DagLayout(placed, edges, width, height, count_crossings(rows, graph))


def _path(corners: list[tuple[float, float]]) -> str:
    """From the right side of the first box, across each dummy's slot, into the last box's
    left side, each hop a horizontal-tangent cubic curve."""
    middle = NODE_HEIGHT / 2
    x, y = corners[0]
    points = [(x + NODE_WIDTH, y + middle)]
    for x, y in corners[1:-1]:
        points += [(x, y + middle), (x + NODE_WIDTH, y + middle)]
    x, y = corners[-1]
    points.append((x, y + middle))
    path = f"M {points[0][0]:g} {points[0][1]:g}"
    for index in range(1, len(points)):
        (x1, y1), (x2, y2) = points[index - 1], points[index]
        if index % 2 == 0:  # across a dummy's slot: straight on
            path += f" L {x2:g} {y2:g}"
            continue
        bend = (x2 - x1) / 2
        path += f" C {x1 + bend:g} {y1:g} {x2 - bend:g} {y2:g} {x2:g} {y2:g}"
    return path
