"""silver.identity_graph: who is one person, as connected components of the identity links.

Every link joins a user id and an anonymous id (a browser, or an app install); ids joined by
any chain of links are one person. The person's id is the smallest user id of the component
(every component holds one, since every link names a user), so it depends only on the set of
links, never on the order they arrived in: re-running from scratch gives the same graph.
Someone never identified has no links and is not in the graph; elsewhere their anonymous id is
their person id.

A browser or device shared by two signed-in users joins them into one person: the links cannot
tell that apart from one user with two accounts.

A tick reads the links silver.identity_links gained (its change feed) and, of the current
graph (`this`), only the rows of the people those links name an id of. Links only ever join
components, so only the components a new link touches can change: their members and the new links' ends are re-split into components (scipy, over that
small subgraph only), and the rows that changed are merged on (kind, identifier): new ids, ids
whose products or link times moved, and every member of a component that now has a smaller
user id. A full refresh is the same computation over every link and an empty graph.
"""

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from dataplatform.core.processing import Snapshot, python_model

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

# The ids the new links name, and every id of the people they touch (any of them may change
# person), numbered for the component search; `was_*` is the row the graph holds (null: new id).
_TOUCHED_IDS = """
with named as (
    select 'user' as kind, user_id as identifier, product, first_linked_at, last_linked_at
    from links
    union all
    select 'anonymous', anonymous_id, product, first_linked_at, last_linked_at
    from links
),
gained as (
    select
        kind,
        identifier,
        list(distinct product) as products,
        min(first_linked_at) as first_linked_at,
        max(last_linked_at) as last_linked_at
    from named
    group by kind, identifier
),
members as (
    select * from graph
    where person_id in (select g.person_id from graph as g join gained using (kind, identifier))
)
select
    row_number() over (order by kind, identifier) - 1 as node,
    kind,
    identifier,
    list_sort(list_distinct(list_concat(m.products, g.products))) as products,
    least(m.first_linked_at, g.first_linked_at) as first_linked_at,
    greatest(m.last_linked_at, g.last_linked_at) as last_linked_at,
    m.person_id as was_person_id,
    m.products as was_products,
    m.first_linked_at as was_first_linked_at,
    m.last_linked_at as was_last_linked_at
from members as m
full join gained as g using (kind, identifier)
order by node
"""
# The edges among the touched ids: each new link, and each member to its current person,
# which keeps the members of one existing component together.
_EDGES = """
select u.node as a, n.node as b
from links as l
join ids as u on u.kind = 'user' and u.identifier = l.user_id
join ids as n on n.kind = 'anonymous' and n.identifier = l.anonymous_id
union all
select m.node, p.node
from ids as m
join ids as p on p.kind = 'user' and p.identifier = m.was_person_id
"""
# The rows to merge: the touched ids whose person or attributes differ from the graph's.
_CHANGED_ROWS = """
with people as (
    select component, min(identifier) filter (where kind = 'user') as person_id
    from ids
    group by component
)
select p.person_id, i.kind, i.identifier, i.products, i.first_linked_at, i.last_linked_at
from ids as i
join people as p using (component)
where i.was_person_id is null
    or row(p.person_id, i.products, i.first_linked_at, i.last_linked_at) is distinct from
        row(i.was_person_id, i.was_products, i.was_first_linked_at, i.was_last_linked_at)
order by p.person_id, i.kind, i.identifier
"""


@python_model(
    name="silver.identity_graph",
    materialized="merge",
    unique_key=["kind", "identifier"],
    description="Each user id and anonymous id (browser or app install) ever linked, with the "
    "person it belongs to: the connected components of silver.identity_links. person_id is the "
    "smallest user id of the component. A tick reads the links silver.identity_links gained "
    "and the current graph, and rewrites only the ids of the components those links touch.",
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
def identity_graph(links: pa.Table, this: Snapshot) -> pa.Table:
    """The graph's rows the new `links` change, given the current graph `this`."""
    if not links.num_rows:
        return IDENTITY_GRAPH_SCHEMA.empty_table()
    with duckdb.connect() as db:
        db.register("links", links)
        db.register("graph", _people_named(links, this))
        ids = db.sql(_TOUCHED_IDS).to_arrow_table()
        db.register("ids", ids)
        edges = db.sql(_EDGES).to_arrow_table()
        db.register("ids", ids.append_column("component", _components(ids.num_rows, edges)))
        return db.sql(_CHANGED_ROWS).to_arrow_table()


def _people_named(links: pa.Table, graph: Snapshot) -> pa.Table:
    """Every row of the people that `links` name an id of (by either end)."""
    named = pa.chunked_array([*links["user_id"].chunks, *links["anonymous_id"].chunks])
    ids = graph.rows_where("identifier", pc.unique(named))
    return graph.rows_where("person_id", pc.unique(ids["person_id"]))


def _components(nodes: int, edges: pa.Table) -> pa.Array:
    """The connected component of each of `nodes` numbered ids, joined by `edges` (a, b)."""
    a, b = (edges[end].to_numpy() for end in ("a", "b"))
    adjacency = coo_array((np.ones(len(a)), (a, b)), shape=(nodes, nodes))
    _, labels = connected_components(adjacency, directed=False)
    return pa.array(labels)
