"""Publishing the audit log and the column lineage as lake tables, for products to read.

`platform.gold.audit_log` gets every chained row once, in sequence order, hashes included, so
the compliance product reads it like any other source (its change data feed is on) and `verify`
can hold the database to what was published. The last row published (the published head) is
recorded in the metadata store too, so a copy deleted from the lake is noticed, and never
silently published again from scratch.

`platform.gold.lineage` gets every lineage edge the runners record, once, in id order. A runner
replaces all of a model's edges, stamped with one `recorded_at`, when the model's SQL or input
columns change (and only then), so the table is a history: the current lineage of a model is its
edges with its latest `recorded_at`:

    select * from lineage l
    where recorded_at = (select max(recorded_at) from lineage where model = l.model)

A model whose lineage became empty has no newer rows, so its last edges still show there.

Exactly once: each commit carries the Delta `txn` (app id, last seq or id of the batch), so a
publisher starts after what the table holds and a replayed commit is skipped; a second `txn`
(`#first`, the first seq or id the batch may hold) makes a publisher that read an older state
skip too, instead of committing rows a concurrent publisher already added.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
from deltalake.exceptions import DeltaError

from dataplatform.core.bounds import as_utc
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, Txn
from dataplatform.core.errors import TerminalError
from dataplatform.platform.audit._chain import AuditLog, AuditRecord, records_after

if TYPE_CHECKING:
    from dataplatform.core.processing import RecordedEdge

logger = logging.getLogger(__name__)

AUDIT_TABLE = "platform.gold.audit_log"
LINEAGE_TABLE = "platform.gold.lineage"
AUDIT_APP_ID = "platform.audit_log"
LINEAGE_APP_ID = "platform.lineage"
BATCH_ROWS = 10_000

_TIME = pa.timestamp("us", tz="UTC")
AUDIT_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("recorded_at", _TIME, nullable=False),
        pa.field("actor", pa.string(), nullable=False),
        pa.field("actor_kind", pa.string(), nullable=False),
        pa.field("action", pa.string(), nullable=False),
        pa.field("outcome", pa.string(), nullable=False),
        pa.field("method", pa.string()),
        pa.field("route", pa.string()),
        pa.field("status", pa.int32()),
        pa.field("table_name", pa.string()),
        pa.field("row_count", pa.int64()),
        pa.field("pii", pa.bool_(), nullable=False),
        pa.field("request_id", pa.string()),
        pa.field("detail", pa.string(), nullable=False),
        pa.field("prev_hash", pa.string(), nullable=False),
        pa.field("hash", pa.string(), nullable=False),
    ]
)
LINEAGE_SCHEMA = pa.schema(
    [
        pa.field("edge_id", pa.int64(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("source_table", pa.string(), nullable=False),
        pa.field("source_column", pa.string(), nullable=False),
        pa.field("target_table", pa.string(), nullable=False),
        pa.field("target_column", pa.string(), nullable=False),
        pa.field("recorded_at", _TIME, nullable=False),
    ]
)


@dataclass(frozen=True)
class _Batch:
    """Rows to append after the table's `txn` version `after`, up to `last`; `refusal` says why
    nothing after them may be published."""

    rows: pa.Table
    after: int
    last: int
    refusal: str | None = None


def publish_audit_log(store: MetadataStore, lake: Lakehouse, *, afresh: bool = False) -> int:
    """Append the chained rows not yet in `platform.gold.audit_log`; returns how many.

    A gap or a broken link stops it at the last intact row, with an error: publishing past it
    would copy the damage into the evidence. The last row published (the published head) is
    recorded in the metadata store, and a copy deleted or cut back below it is refused rather
    than published again, which would hide the loss; `afresh` accepts the loss and publishes
    the chain to a new copy.
    """
    log = AuditLog(store)
    if afresh:
        logger.warning("publishing the audit log afresh: earlier publications are forgotten")
        log.forget_published()
    _refuse_a_lost_copy(log, lake)
    try:
        return _publish(
            lake,
            AUDIT_TABLE,
            AUDIT_SCHEMA,
            AUDIT_APP_ID,
            lambda after: _audit_batch(store, after),
            "The platform's hash-chained audit log.",
        )
    finally:
        # Also after a refusal at a broken row: the rows before it were published.
        _record_published_head(log, lake)


def published_hash(lake: Lakehouse, seq: int) -> str | None:
    """The hash of row `seq` in the published copy, or None when the copy lacks it."""
    found = lake.dataset(AUDIT_TABLE).to_table(columns=["hash"], filter=pc.field("seq") == seq)
    return str(found["hash"][0].as_py()) if found.num_rows else None


def published_seq(lake: Lakehouse) -> int | None:
    """The last row the published copy took in, or None when there is no copy."""
    return lake.transaction_version(AUDIT_TABLE, AUDIT_APP_ID) if lake.exists(AUDIT_TABLE) else None


def _refuse_a_lost_copy(log: AuditLog, lake: Lakehouse) -> None:
    recorded = log.published_head()
    if recorded is None or recorded[0] == 0:
        return
    held = published_seq(lake)
    if held is not None and held >= recorded[0]:
        return
    holds = "is gone" if held is None else f"holds rows up to {held} only"
    raise TerminalError(
        f"`{AUDIT_TABLE}` {holds}, but rows up to {recorded[0]} were published to it: the "
        "published copy was deleted or cut back, and publishing again would hide that. Restore "
        "the table from a backup; if it is lost for good, `dataplatform audit publish --afresh` "
        "publishes the chain to a new copy."
    )


def _record_published_head(log: AuditLog, lake: Lakehouse) -> None:
    held = published_seq(lake)
    if not held:
        return
    recorded = log.published_head()
    if recorded is not None and recorded[0] >= held:
        return
    digest = published_hash(lake, held)
    if digest is not None:
        log.record_published(held, digest)


def publish_lineage(store: MetadataStore, lake: Lakehouse) -> int:
    """Append the lineage edges not yet in `platform.gold.lineage`; returns how many."""
    return _publish(
        lake,
        LINEAGE_TABLE,
        LINEAGE_SCHEMA,
        LINEAGE_APP_ID,
        lambda after: _lineage_batch(store, after),
        "Column lineage edges of every model, as each runner recorded them.",
    )


def _publish(
    lake: Lakehouse,
    table: str,
    schema: pa.Schema,
    app_id: str,
    batch_after: Callable[[int], _Batch | None],
    description: str,
) -> int:
    """Commit batches after the table's `txn` version until none is left; returns rows added."""
    if not lake.exists(table):
        try:
            lake.create(table, schema, description=description)
        except DeltaError:
            if not lake.exists(table):
                raise
            # Another publisher created it since we looked: check its columns instead.
            lake.create(table, schema, description=description)
    published = 0
    while True:
        batch = batch_after(lake.transaction_version(table, app_id) or 0)
        if batch is None:
            return published
        if batch.rows.num_rows:
            published += _commit_batch(lake, table, app_id, batch)
        if batch.refusal is not None:
            raise TerminalError(batch.refusal)
        if batch.rows.num_rows < BATCH_ROWS:
            return published


def _commit_batch(lake: Lakehouse, table: str, app_id: str, batch: _Batch) -> int:
    """Append the batch once; 0 when the table holds it already."""
    txns = [Txn(app_id, batch.last), Txn(f"{app_id}#first", batch.after + 1)]
    try:
        result = lake.append(table, batch.rows, txn=txns)
    except TerminalError:
        # The lake refuses a write whose `#first` is already held but whose last is not: a
        # concurrent publisher committed a batch from the same start. The table then reaches
        # past `after`, and the next round starts from there.
        if (lake.transaction_version(table, app_id) or 0) > batch.after:
            logger.info("another publisher committed first", extra={"table": table})
            return 0
        raise
    return 0 if result.skipped else batch.rows.num_rows


def _audit_batch(store: MetadataStore, after: int) -> _Batch | None:
    records = records_after(store, after, BATCH_ROWS)
    if not records:
        return None
    intact, refusal = _intact_prefix(records, after)
    columns = {name: [getattr(r, name) for r in intact] for name in AUDIT_SCHEMA.names}
    columns["recorded_at"] = [as_utc(moment) for moment in columns["recorded_at"]]
    last = intact[-1].seq if intact else after
    return _Batch(pa.table(columns, schema=AUDIT_SCHEMA), after, last, refusal)


def _intact_prefix(
    records: Sequence[AuditRecord], after: int
) -> tuple[Sequence[AuditRecord], str | None]:
    """The rows up to the first gap or broken link, and the refusal to go past it."""
    previous_hash = None
    for index, record in enumerate(records):
        expected = after + 1 + index
        if record.seq != expected or (previous_hash and record.prev_hash != previous_hash):
            return records[:index], (
                f"The audit chain is broken at row {expected}; nothing past row {expected - 1} "
                "is published until it is resolved. Run `dataplatform audit verify` for details."
            )
        previous_hash = record.hash
    return records, None


def _lineage_batch(store: MetadataStore, after: int) -> _Batch | None:
    # Processing brings DuckDB and SQLGlot; the gateway imports this package and needs neither.
    from dataplatform.core.processing import RunLog

    edges = RunLog(store).edges_after(after, BATCH_ROWS)
    if not edges:
        return None
    rows = pa.Table.from_pylist([_edge_row(edge) for edge in edges], LINEAGE_SCHEMA)
    return _Batch(rows, after, edges[-1].id)


def _edge_row(edge: "RecordedEdge") -> dict[str, object]:
    return {
        "edge_id": edge.id,
        "model": edge.model,
        "source_table": edge.edge.source_table,
        "source_column": edge.edge.source_column,
        "target_table": edge.edge.target_table,
        "target_column": edge.edge.target_column,
        "recorded_at": edge.recorded_at,
    }
