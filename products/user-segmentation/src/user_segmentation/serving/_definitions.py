"""Rule segment definitions, kept in the product's Delta table gold.segment_definitions.

Single definitions are read straight from the table (a few rows), so a client reads its own
write at once; lists go through `gold_page` (a second at most behind). A change rewrites the
segment's row with the next version; a deletion keeps the row with `deleted_at`, since the
segment's recorded entries and exits still refer to it.
"""

import json
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import NotFoundError
from dataplatform.core.product_context import ProductContext
from user_segmentation.storage import SEGMENT_DEFINITIONS_SCHEMA, ensure_written_tables

# Changes read the row, then write the next version: one at a time in this process.
_changing = threading.Lock()


def stored(lake: Lakehouse, context: ProductContext[Any], segment_id: str) -> dict[str, Any]:
    """The live (not deleted) definition `segment_id`, as stored; 404 otherwise."""
    row = _row(lake, _table(context), segment_id)
    if row is None or row["deleted_at"] is not None:
        gone = "" if row is None else f" (deleted at {row['deleted_at'].isoformat()})"
        raise NotFoundError(
            f"No rule segment `{segment_id}`{gone}; GET /segments lists them, POST /segments "
            "creates one."
        )
    return row


def create(
    lake: Lakehouse,
    context: ProductContext[Any],
    caller: str,
    name: str,
    description: str | None,
    definition: Any,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    row = {
        "segment_id": f"rule-{uuid.uuid4().hex[:12]}",
        "name": name,
        "description": description,
        "definition": json.dumps(definition),
        "version": 1,
        "created_by": caller,
        "created_at": now,
        "updated_by": caller,
        "updated_at": now,
        "deleted_at": None,
    }
    ensure_written_tables(lake, context)
    lake.append(_table(context), pa.Table.from_pylist([row], SEGMENT_DEFINITIONS_SCHEMA))
    return row


def update(
    lake: Lakehouse,
    context: ProductContext[Any],
    segment_id: str,
    caller: str,
    name: str,
    description: str | None,
    definition: Any,
) -> dict[str, Any]:
    with _changing:
        row = stored(lake, context, segment_id)
        changed = {
            **row,
            "name": name,
            "description": description,
            "definition": json.dumps(definition),
            "version": row["version"] + 1,
            "updated_by": caller,
            "updated_at": datetime.now(UTC),
        }
        _write(lake, _table(context), changed)
    return changed


def delete(
    lake: Lakehouse, context: ProductContext[Any], segment_id: str, caller: str
) -> dict[str, Any]:
    with _changing:
        row = stored(lake, context, segment_id)
        now = datetime.now(UTC)
        deleted = {**row, "updated_by": caller, "updated_at": now, "deleted_at": now}
        _write(lake, _table(context), deleted)
    return deleted


def as_json(row: Mapping[str, Any], size: int | None) -> dict[str, Any]:
    """A stored definition as the API shows a rule segment."""
    return {
        "segment_id": row["segment_id"],
        "kind": "rule",
        "name": row["name"],
        "description": row["description"],
        "definition": json.loads(row["definition"]),
        "version": row["version"],
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "updated_by": row["updated_by"],
        "updated_at": row["updated_at"],
        "size": size,
    }


def _table(context: ProductContext[Any]) -> str:
    return context.table("gold.segment_definitions")


def _row(lake: Lakehouse, table: str, segment_id: str) -> dict[str, Any] | None:
    if not lake.exists(table):
        return None
    rows = (
        lake.table(table).to_pyarrow_dataset().to_table(filter=pc.field("segment_id") == segment_id)
    )
    return rows.to_pylist()[0] if rows.num_rows else None


def _write(lake: Lakehouse, table: str, row: Mapping[str, Any]) -> None:
    lake.merge(
        table,
        pa.Table.from_pylist([dict(row)], SEGMENT_DEFINITIONS_SCHEMA),
        ["segment_id"],
    )
