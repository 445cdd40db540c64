"""Lineage walks: from one table (or one column), up to what it is computed from, down to what
is computed from it, a given number of hops away."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from dataplatform.core.processing import ColumnEdge, ModelGraph

Direction = Literal["upstream", "downstream", "both"]
Side = Literal["root", "upstream", "downstream"]


@dataclass(frozen=True, order=True)
class LineageEdge:
    """`target` is computed from `source` by `model` (node ids: tables, or `table.column`)."""

    source: str
    target: str
    model: str


@dataclass(frozen=True)
class LineageNode:
    id: str
    table: str
    column: str | None
    side: Side
    distance: int  # hops from the root


@dataclass(frozen=True)
class Lineage:
    """The nodes and edges within `depth` hops of `root`; for a table, the column edges between
    the tables reached are in `column_edges`."""

    root: str
    column: str | None
    direction: Direction
    depth: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    column_edges: list[ColumnEdge] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def table_edges(graphs: Iterable[ModelGraph], recorded: Iterable[ColumnEdge]) -> set[LineageEdge]:
    """Table edges the models declare (inputs to output, also across products through
    `source(...)`), with those only their recorded column lineage shows."""
    edges = {
        LineageEdge(source, model, model)
        for graph in graphs
        for model, inputs in graph.inputs.items()
        for source in inputs
    }
    # A model is named after the table it writes, so the target names the model.
    edges |= {
        LineageEdge(edge.source_table, edge.target_table, edge.target_table)
        for edge in recorded
        if edge.source_table != edge.target_table
    }
    return edges


def column_node(table: str, column: str) -> str:
    return f"{table}.{column}"


def column_edges(recorded: Iterable[ColumnEdge]) -> set[LineageEdge]:
    """Column edges, without a model's reads of its own output (`this()`)."""
    return {
        LineageEdge(
            column_node(edge.source_table, edge.source_column),
            column_node(edge.target_table, edge.target_column),
            edge.target_table,
        )
        for edge in recorded
        if edge.source_table != edge.target_table
    }


def walk(
    root: str, edges: Iterable[LineageEdge], direction: Direction, depth: int
) -> tuple[dict[str, tuple[Side, int]], list[LineageEdge]]:
    """Nodes reached from `root` within `depth` hops (with their side and distance), and the
    edges followed to reach them."""
    upstream: defaultdict[str, list[LineageEdge]] = defaultdict(list)
    downstream: defaultdict[str, list[LineageEdge]] = defaultdict(list)
    for edge in edges:
        upstream[edge.target].append(edge)
        downstream[edge.source].append(edge)
    reached: dict[str, tuple[Side, int]] = {root: ("root", 0)}
    followed: set[LineageEdge] = set()
    sides: list[tuple[Side, defaultdict[str, list[LineageEdge]], bool]] = []
    if direction in ("upstream", "both"):
        sides.append(("upstream", upstream, True))
    if direction in ("downstream", "both"):
        sides.append(("downstream", downstream, False))
    for side, adjacent, backwards in sides:
        frontier = [root]
        for distance in range(1, depth + 1):
            next_frontier = []
            for node in frontier:
                for edge in adjacent[node]:
                    followed.add(edge)
                    neighbour = edge.source if backwards else edge.target
                    if neighbour not in reached:
                        reached[neighbour] = (side, distance)
                        next_frontier.append(neighbour)
            frontier = next_frontier
    return reached, sorted(followed)
