"""The person to erase: their id, and the other ids linked to it.

Linked ids, one hop from the id given (never through another person's id, so a shared browser
cannot pull a second person into the erasure):

- every `anonymous_id` that a bronze event of the person carries next to their `user_id`
  (identify calls do, and so do the events an SDK sends once it knows the user);
- the `previousId` of the person's alias events;
- the other ids of the person's component in `user_segmentation.gold.identity_graph`, which
  the segmentation product publishes, when the component holds no other user id. Every link
  there names a user, so each id of such a component was linked straight to the person; a
  component with another user id (a shared browser, or a second account: the graph cannot
  tell) is not followed, since its anonymous ids may be the other user's.
"""

import hashlib
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.connectors.lakehouse import Lakehouse, as_plain_text

IDENTITY_GRAPH = "user_segmentation.gold.identity_graph"
GRAPH_USER = "user"  # the graph's `kind` of a user id; the other kind is `anonymous`
_LINKING_COLUMNS = ("type", "user_id", "anonymous_id", "properties")


@dataclass(frozen=True)
class Subject:
    """The id to erase and its linked ids; `hash` is what may be kept of it (SHA-256, hex)."""

    id: str
    linked: tuple[str, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.linked)

    @property
    def hash(self) -> str:
        return subject_hash(self.id)


def subject_hash(user_id: str) -> str:
    return hashlib.sha256(user_id.encode()).hexdigest()


def find_subject(lake: Lakehouse, user_id: str) -> Subject:
    """`user_id` with the ids linked to it in bronze and in the identity graph."""
    linked: set[str] = set()
    for table in lake.tables():
        if table.layer == "bronze" and set(_LINKING_COLUMNS) <= set(lake.schema(table).names):
            linked |= _bronze_links(lake, str(table), user_id)
    if lake.exists(IDENTITY_GRAPH):
        linked |= _graph_links(lake, user_id)
    linked.discard(user_id)
    return Subject(user_id, tuple(sorted(linked)))


def _graph_links(lake: Lakehouse, user_id: str) -> set[str]:
    graph = as_plain_text(lake.read(IDENTITY_GRAPH, columns=["person_id", "identifier", "kind"]))
    me = graph.filter(
        pc.and_(pc.equal(graph["identifier"], user_id), pc.equal(graph["kind"], GRAPH_USER))
    )
    people = pa.array(sorted(set(me["person_id"].to_pylist())), pa.string())
    component = graph.filter(pc.is_in(graph["person_id"], value_set=people))
    users = component.filter(pc.equal(component["kind"], GRAPH_USER))["identifier"].to_pylist()
    if set(users) != {user_id}:
        return set()  # not in the graph, or sharing a component with another user
    return set(component["identifier"].to_pylist())


def _bronze_links(lake: Lakehouse, table: str, user_id: str) -> set[str]:
    rows = as_plain_text(lake.read(table, columns=list(_LINKING_COLUMNS)))
    mine = rows.filter(pc.fill_null(pc.equal(rows["user_id"], user_id), False))
    found = {value for value in mine["anonymous_id"].to_pylist() if value}
    aliases = mine.filter(pc.equal(mine["type"], "alias"))
    for properties in aliases["properties"].to_pylist():
        previous = orjson.loads(properties or "{}").get("previousId")
        if isinstance(previous, str) and previous:
            found.add(previous)
    return found
