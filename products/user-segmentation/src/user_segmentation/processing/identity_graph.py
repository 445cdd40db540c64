"""silver.identity_graph: who is one person, as connected components of the identity links.

Every link joins a user id and an anonymous id (a browser, or an app install); ids joined by
any chain of links are one person. The person's id is the smallest user id of the component
(every component holds one, since every link names a user), so it depends only on the set of
links, never on the order they arrived in: re-running from scratch gives the same graph.
Someone never identified has no links and is not in the graph; elsewhere their anonymous id is
their person id.

A browser or device shared by two signed-in users joins them into one person: the links cannot
tell that apart from one user with two accounts.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pyarrow as pa

from dataplatform.core.processing import python_model

_TIME = pa.timestamp("us", tz="UTC")
IDENTITY_GRAPH_SCHEMA = pa.schema(
    [
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("identifier", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("products", pa.list_(pa.string()), nullable=False),
        pa.field("first_linked_at", _TIME),
        pa.field("last_linked_at", _TIME),
    ]
)
USER = "user"
ANONYMOUS = "anonymous"
Node = tuple[str, str]  # (kind, identifier): a user id and an anonymous id may share a spelling


class _Components:
    """Union-find over nodes, with path halving."""

    def __init__(self) -> None:
        self.parent: dict[Node, Node] = {}

    def root(self, node: Node) -> Node:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def join(self, a: Node, b: Node) -> None:
        root_a, root_b = self.root(a), self.root(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


@python_model(
    name="silver.identity_graph",
    materialized="replace",
    description="Each user id and anonymous id (browser or app install) ever linked, with the "
    "person it belongs to: the connected components of silver.identity_links. person_id is the "
    "smallest user id of the component; recomputed whole on every run.",
    columns={
        "person_id": {"description": "The person: the smallest user id linked.", "tags": ["pii"]},
        "identifier": {"description": "A user id or an anonymous id.", "tags": ["pii"]},
        "kind": {"description": "user or anonymous."},
        "products": {"description": "Products whose links name the identifier, sorted."},
        "first_linked_at": {"description": "Its first link."},
        "last_linked_at": {"description": "Its latest link."},
    },
    checks=[{"check": "unique", "column": "identifier", "severity": "warn"}],
    inputs=["silver.identity_links"],
    schema=IDENTITY_GRAPH_SCHEMA,
    lineage={
        "person_id": ["silver.identity_links.user_id"],
        "identifier": ["silver.identity_links.user_id", "silver.identity_links.anonymous_id"],
        "kind": ["silver.identity_links.user_id", "silver.identity_links.anonymous_id"],
        "products": ["silver.identity_links.product"],
        "first_linked_at": ["silver.identity_links.first_linked_at"],
        "last_linked_at": ["silver.identity_links.last_linked_at"],
    },
)
def identity_graph(links: pa.Table) -> pa.Table:
    return pa.Table.from_pylist(identity_rows(links.to_pylist()), IDENTITY_GRAPH_SCHEMA)


def identity_rows(links: list[dict[str, object]]) -> list[dict[str, object]]:
    """One row per linked identifier, sorted by person and identifier."""
    components = _Components()
    products: defaultdict[Node, set[str]] = defaultdict(set)
    first: dict[Node, datetime] = {}
    last: dict[Node, datetime] = {}
    for link in links:
        user: Node = (USER, str(link["user_id"]))
        anonymous: Node = (ANONYMOUS, str(link["anonymous_id"]))
        components.join(user, anonymous)
        for node in (user, anonymous):
            products[node].add(str(link["product"]))
            _keep(first, node, link["first_linked_at"], min)
            _keep(last, node, link["last_linked_at"], max)
    members: defaultdict[Node, list[Node]] = defaultdict(list)
    for node in components.parent:
        members[components.root(node)].append(node)
    rows: list[dict[str, Any]] = []
    for nodes in members.values():
        person = min(identifier for kind, identifier in nodes if kind == USER)
        rows.extend(
            {
                "person_id": person,
                "identifier": identifier,
                "kind": kind,
                "products": sorted(products[(kind, identifier)]),
                "first_linked_at": first.get((kind, identifier)),
                "last_linked_at": last.get((kind, identifier)),
            }
            for kind, identifier in nodes
        )
    return sorted(rows, key=lambda row: (row["person_id"], row["kind"], row["identifier"]))


def _keep(
    held: dict[Node, datetime],
    node: Node,
    value: object,
    pick: Callable[[datetime, datetime], datetime],
) -> None:
    if isinstance(value, datetime):
        held[node] = pick(held[node], value) if node in held else value
