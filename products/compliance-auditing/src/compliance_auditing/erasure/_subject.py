"""The person to erase: their id, and the other ids linked to it.

Linked ids, one hop from the id given (never through another person's id, so a shared browser
cannot pull a second person into the erasure):

- every `anonymous_id` that a bronze event of the person carries next to their `user_id`
  (identify calls do, and so do the events an SDK sends once it knows the user);
- the `previousId` of the person's alias events;
- the `linked_id` of the person's rows in `user_segmentation.gold.identity_graph`, once that
  product publishes it.
"""

import hashlib
from dataclasses import dataclass

import orjson
import pyarrow.compute as pc

from compliance_auditing.lakefiles import as_plain_text
from dataplatform.core.connectors.lakehouse import Lakehouse

IDENTITY_GRAPH = "user_segmentation.gold.identity_graph"
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
        graph = as_plain_text(lake.read(IDENTITY_GRAPH, columns=["user_id", "linked_id"]))
        mine = graph.filter(pc.equal(graph["user_id"], user_id))
        linked |= {value for value in mine["linked_id"].to_pylist() if value}
    linked.discard(user_id)
    return Subject(user_id, tuple(sorted(linked)))


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
