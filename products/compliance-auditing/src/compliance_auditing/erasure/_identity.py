"""Which columns of a table identify a person, and how the rows of one person are picked.

The rule, in one place: a table's identity columns are the text columns its product declares
as holding a person, i.e. tagged `pii` in the product's table declarations or its models'
headers (`dataplatform.core.product`), plus any text column the catalog tags `pii` (a
steward's tag on `customer_id` makes it one). No column name is guessed. A row holds the person
when one of its identity columns equals one of the person's ids. Rows are deleted whole, so the
JSON the person sent (`raw`, `context`, `properties` in bronze) goes with them.

Quarantine tables hold rejected payloads and rows as JSON (`raw`, `row`) with no identity column;
there a row holds the person when its JSON names one of the ids as a string value (`"id"`).

The erasure leaves alone the platform's tables (`platform.*`: the audit log is evidence, and it
names staff, not data subjects) and this product's own (which keep only a hash of the id).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.connectors.lakehouse import RowMatcher, TableName
from dataplatform.core.product import declared_person_columns

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
    table: str,
    schema: pa.Schema,
    catalog_pii: Iterable[str] = (),
    declared: Mapping[str, frozenset[str]] | None = None,
) -> PersonColumns | None:
    """The columns of `table` that can hold a person (declared, or tagged in the catalog);
    None when it has none, or is left alone."""
    name = TableName.parse(table)
    if name.product in UNTOUCHED_NAMESPACES:
        return None
    declared = declared_person_columns() if declared is None else declared
    tagged = declared.get(table, frozenset()) | set(catalog_pii)
    text = [field.name for field in schema if field.type in _TEXT]
    identity = tuple(c for c in text if c in tagged)
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
