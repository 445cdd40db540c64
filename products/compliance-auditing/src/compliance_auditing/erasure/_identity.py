"""Which columns of a table identify a person, and how the rows of one person are picked.

The rule, in one place: a table's identity columns are its text columns named one of
`IDENTITY_COLUMNS`, plus any text column the catalog tags `pii` whose name ends in `_id` (a
steward's tag on `customer_id` makes it one). A row holds the person when one of its identity
columns equals one of the person's ids. Rows are deleted whole, so the JSON the person sent
(`raw`, `context`, `properties` in bronze) goes with them.

Quarantine tables hold rejected payloads and rows as JSON (`raw`, `row`) with no identity column;
there a row holds the person when its JSON names one of the ids as a string value (`"id"`).

The erasure leaves alone the platform's tables (`platform.*`: the audit log is evidence, and it
names staff, not data subjects) and this product's own (which keep only a hash of the id).
"""

from collections.abc import Iterable
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from compliance_auditing.lakefiles import RowMatcher
from dataplatform.core.connectors.lakehouse import TableName

IDENTITY_COLUMNS = frozenset(
    {
        "user_id",
        "anonymous_id",
        "device_id",
        "distinct_id",
        "subject_id",
        "visitor_id",
        "person_id",
        "linked_id",
        "previous_id",
        "identifier",  # user-segmentation's identity graph: any id of a person
    }
)
QUARANTINE_JSON_COLUMNS = ("raw", "row")
UNTOUCHED_NAMESPACES = ("platform", "compliance_auditing")
_TEXT = (pa.string(), pa.large_string(), pa.string_view())


@dataclass(frozen=True)
class PersonColumns:
    """Where a table can hold a person: columns compared by value, JSON columns searched."""

    table: str
    identity: tuple[str, ...]
    json: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.identity, *self.json)


def person_columns(
    table: str, schema: pa.Schema, catalog_pii: Iterable[str] = ()
) -> PersonColumns | None:
    """The columns of `table` that can hold a person; None when it has none, or is left alone."""
    name = TableName.parse(table)
    if name.product in UNTOUCHED_NAMESPACES:
        return None
    tagged = {column for column in catalog_pii if column.endswith("_id")}
    text = [field.name for field in schema if field.type in _TEXT]
    identity = tuple(c for c in text if c in IDENTITY_COLUMNS or c in tagged)
    json = (
        tuple(c for c in text if c in QUARANTINE_JSON_COLUMNS) if name.layer == "quarantine" else ()
    )
    if not identity and not json:
        return None
    return PersonColumns(table, identity, json)


def rows_of(ids: Iterable[str], columns: PersonColumns) -> RowMatcher:
    """A mask of the rows that hold any of `ids` (by the rule above)."""
    values = pa.array(sorted(set(ids)), pa.string())
    quoted = [orjson.dumps(value).decode() for value in values.to_pylist()]  # as JSON spells it

    def matches(rows: pa.Table) -> pa.Array:
        mask = pa.array([False] * rows.num_rows)
        for column in columns.identity:
            if column in rows.column_names:
                mask = pc.or_(mask, pc.fill_null(pc.is_in(rows[column], values), False))
        for column in columns.json:
            if column in rows.column_names:
                for needle in quoted:
                    found = pc.match_substring(rows[column], needle)
                    mask = pc.or_(mask, pc.fill_null(found, False))
        return mask

    return matches
