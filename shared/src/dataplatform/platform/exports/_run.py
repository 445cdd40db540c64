"""Running exports: each period once, in order, resumed where the last round stopped.

A period `[start, end)` (an hour or a UTC day) is due `DELAY` after it ends, so late events
land first. Its rows are the table's rows whose `time_column` falls in it (the whole table
without one) or the saved query's answer then, masked by their lineage as the API masks them
unless the export was made with `include_pii` by someone holding `pii:read`. They go to:

- a folder under the exports root, on a local disk or in a bucket (`s3://`, through the lake's
  store and storage options): `<destination>/<export>/<period start>.<parquet|csv>`, written
  whole or not at all (staged and renamed on a disk, one upload completed in a bucket), so a run
  cut short writes the same name again: never a second copy;
- a webhook (`https://...`): POSTed as JSON in batches, signed as every webhook delivery is
  (`dataplatform.core.signing`), tried with backoff; `X-Dataplatform-Delivery` names the period and batch, so a receiver drops a repeat.

A period done is recorded (`export_runs`) and never exported again; one that failed is tried
again next round, and after `MAX_ATTEMPTS` it is `dead` (the dead letters) and the next period
goes. Each period exported is written to the audit log as `export.run`.
"""

import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.access import MASK
from dataplatform.core.connectors.lakehouse import Lakehouse, put_file
from dataplatform.core.engine import run_query, snapshot_files
from dataplatform.core.query_lineage import answer_lineage
from dataplatform.core.sandbox import QuerySandbox
from dataplatform.core.signing import webhook_headers
from dataplatform.platform.audit import AuditEntry, AuditLog
from dataplatform.platform.exports._records import Export, ExportRun, Exports

logger = logging.getLogger(__name__)

PERIODS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
DELAY = timedelta(minutes=5)
MAX_ATTEMPTS = 5
PERIODS_PER_ROUND = 24  # a long backlog is worked through over several rounds
WEBHOOK_BATCH_ROWS = 1000


def run_due_exports(
    exports: Exports,
    lake: Lakehouse,
    sandbox: QuerySandbox,
    pii_columns: Callable[[str], frozenset[str]],
    audit: AuditLog,
    now: datetime | None = None,
) -> dict[str, int]:
    """Export every period due; per export, how many periods this round finished."""
    now = now or datetime.now(UTC)
    finished = {}
    for export in exports.all():
        finished[export.name] = 0
        for start in _due_periods(export, exports, now):
            run = _run_period(export, start, exports, lake, sandbox, pii_columns)
            exports.record_run(run)
            if run.status == "done":
                audit.append([_audit_entry(export, run)])
                finished[export.name] += 1
            if run.status == "failed":
                break  # tried again next round, before any later period
    return finished


def period_start_of(moment: datetime, period: str) -> datetime:
    """The start of the period holding `moment`."""
    moment = moment.astimezone(UTC)
    if period == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _due_periods(export: Export, exports: Exports, now: datetime) -> list[datetime]:
    """The periods over (and `DELAY` past) not yet done or dead, oldest first: one query for
    what is settled, however long the export has run."""
    step = PERIODS[export.period]
    settled = exports.settled(export.name)
    start = period_start_of(export.starts_at, export.period)
    due: list[datetime] = []
    while start + step + DELAY <= now and len(due) < PERIODS_PER_ROUND:
        if start not in settled:
            due.append(start)
        start += step
    return due


def _run_period(
    export: Export,
    start: datetime,
    exports: Exports,
    lake: Lakehouse,
    sandbox: QuerySandbox,
    pii_columns: Callable[[str], frozenset[str]],
) -> ExportRun:
    end = start + PERIODS[export.period]
    before = exports.run_of(export.name, start)
    attempts = (before.attempts if before else 0) + 1
    try:
        rows = _rows(export, start, end, lake, sandbox, pii_columns)
        location = _deliver(export, start, end, rows, lake.storage_options)
    except Exception as error:  # recorded on the run, tried again next round
        logger.exception("export %s of %s failed (try %d)", export.name, start, attempts)
        status = "dead" if attempts >= MAX_ATTEMPTS else "failed"
        return ExportRun(
            export.name, start, end, status, None, None, attempts, str(error)[:2000], _now()
        )
    return ExportRun(
        export.name, start, end, "done", rows.num_rows, location, attempts, None, _now()
    )


def _rows(
    export: Export,
    start: datetime,
    end: datetime,
    lake: Lakehouse,
    sandbox: QuerySandbox,
    pii_columns: Callable[[str], frozenset[str]],
) -> pa.Table:
    files = {
        view: snapshot_files(lake, lake.table(name), name) for view, name in export.tables.items()
    }
    params = {"start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None)}
    sql = export.sql
    result = sandbox.run(
        lambda connection: run_query(connection, sql, files, params if "$start" in sql else None),
        field="export",
    )
    result = _zoned(result)
    if export.include_pii:
        return result
    lineage = answer_lineage(
        sql, export.tables, {v: f.schema.names for v, f in files.items()}, result.column_names
    )
    pii = {table: pii_columns(table) for table in lineage.tables_behind()}
    hidden = lineage.hidden(pii, result.column_names)
    for column in hidden:
        masked = pc.if_else(pc.is_null(result[column]), pa.scalar(None, pa.string()), MASK)
        result = result.set_column(result.column_names.index(column), column, masked)
    return result


def _zoned(rows: pa.Table) -> pa.Table:
    """Times marked UTC again: the engine reads every stored time as naive UTC, and a file
    leaving the platform must say which zone its times are in."""
    schema = pa.schema(
        f.with_type(pa.timestamp(f.type.unit, "UTC"))
        if pa.types.is_timestamp(f.type) and f.type.tz is None
        else f
        for f in rows.schema
    )
    return rows.cast(schema)


def _deliver(
    export: Export,
    start: datetime,
    end: datetime,
    rows: pa.Table,
    storage_options: dict[str, str] | None,
) -> str:
    if export.destination.startswith(("http://", "https://")):
        _post(export, start, end, rows)
        return export.destination
    buffer = io.BytesIO()
    if export.format == "csv":
        import pyarrow.csv

        pyarrow.csv.write_csv(_flat(rows), buffer)
    else:
        import pyarrow.parquet

        pyarrow.parquet.write_table(rows, buffer)
    name = f"{export.name}/{start:%Y-%m-%dT%H%M%SZ}.{export.format}"
    return put_file(export.destination, storage_options, name, buffer.getvalue())


def _flat(rows: pa.Table) -> pa.Table:
    """Nested columns as JSON text: CSV holds flat values only."""
    for index, field in enumerate(rows.schema):
        if pa.types.is_nested(field.type):
            text = [
                orjson.dumps(v).decode() if v is not None else None for v in rows[index].to_pylist()
            ]
            rows = rows.set_column(index, field.name, pa.array(text, pa.string()))
    return rows


def _post(export: Export, start: datetime, end: datetime, rows: pa.Table) -> None:
    import httpx2 as httpx
    import tenacity

    batches = rows.to_batches(max_chunksize=WEBHOOK_BATCH_ROWS) or [rows]
    for number, batch in enumerate(batches):
        body = orjson.dumps(
            {
                "export": export.name,
                "period_start": start,
                "period_end": end,
                "batch": number,
                "batches": len(batches),
                "rows": pa.Table.from_batches([batch]).to_pylist() if batch.num_rows else [],
            },
            default=str,
        )
        delivery = f"{export.name}:{start:%Y-%m-%dT%H%M%SZ}:{number}"
        headers = webhook_headers(delivery, body, export.secret_env, f"Export `{export.name}`")
        for attempt in tenacity.Retrying(
            stop=tenacity.stop_after_attempt(3),
            wait=tenacity.wait_exponential(multiplier=0.5, max=10),
            reraise=True,
        ):
            with attempt:
                httpx.post(
                    export.destination, content=body, headers=headers, timeout=30
                ).raise_for_status()


def _audit_entry(export: Export, run: ExportRun) -> AuditEntry:
    return AuditEntry(
        actor=export.created_by,
        actor_kind="user",
        action="export.run",
        row_count=run.rows,
        pii=export.include_pii,
        table_name=next(iter(export.tables.values()), None),
        detail={
            "export": export.name,
            "period_start": run.period_start.isoformat(),
            "location": run.location,
            "tables": sorted(export.tables.values()),
        },
    )


def _now() -> datetime:
    return datetime.now(UTC)
