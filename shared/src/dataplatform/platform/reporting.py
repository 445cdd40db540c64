"""The platform report: per product, its volumes, freshness, quality checks, storage and API
traffic, as JSON and as Markdown (`GET /admin/report`, `dataplatform report`).

Rows and bytes come from each table's Delta log; rows added over the last 24 h are summed from
the metrics of the commits made in that time (appends' and overwrites' added rows, merges'
inserted rows); quality is the latest run of each model with its checks; traffic is the
`data.read` entries of the audit log in the last 24 h (entries still buffered by a gateway's
audit writer, at most its flush interval, are not counted yet).
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select

from dataplatform.core.access import ADMIN, require
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, TableName
from dataplatform.core.processing import RunLog
from dataplatform.core.product import Product
from dataplatform.core.serving import JSONOut
from dataplatform.platform.audit import AuditRecord
from dataplatform.platform.catalog import (
    quarantine_tables,
    read_stats,
    rows_added_since,
    storage_bytes,
)
from dataplatform.platform.services import services

WINDOW = timedelta(hours=24)
MARKDOWN = "text/markdown; charset=utf-8"
ReportFormat = Literal["json", "markdown"]


def build_report(
    store: MetadataStore, lake: Lakehouse, products: Sequence[Product]
) -> dict[str, Any]:
    """The report of `products` now, as plain JSON values."""
    now = datetime.now(UTC)
    since = now - WINDOW
    runs = RunLog(store)
    traffic = _traffic(store, since)
    report: dict[str, Any] = {
        "generated_at": now.isoformat(),
        "window_hours": WINDOW.total_seconds() / 3600,
        "products": {},
    }
    for product in sorted(products, key=lambda p: p.name):
        names = [*product.table_names, *_existing_quarantines(product, lake)]
        tables = [_volume(lake, name, now, since) for name in names]
        reads = [row for row in traffic if row["table"] in names]
        report["products"][product.name] = {
            "owner": product.owner,
            "totals": {
                "rows": sum(t["rows"] or 0 for t in tables),
                "rows_added_24h": sum(t["rows_added_24h"] or 0 for t in tables),
                "size_bytes": sum(t["size_bytes"] or 0 for t in tables),
                "reads_24h": sum(r["reads"] for r in reads),
                "rows_served_24h": sum(r["rows"] for r in reads),
                "pii_reads_24h": sum(r["pii_reads"] for r in reads),
            },
            "tables": tables,
            "quality": [_latest_run(runs, model) for model in product.model_graph().order()],
            "traffic": reads,
        }
    return report


def render_markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown document, one section per product."""
    hours = f"{report['window_hours']:g} h"
    lines = [
        "# Data Platform report",
        "",
        f"Generated {report['generated_at']}; additions and traffic over the last {hours}.",
    ]
    for name, product in report["products"].items():
        totals = product["totals"]
        lines += [
            "",
            f"## {name}",
            "",
            f"Owner: {product['owner']}. {_n(totals['rows'])} rows "
            f"({_n(totals['rows_added_24h'])} added in {hours}), {_n(totals['size_bytes'])} bytes; "
            f"{_n(totals['reads_24h'])} reads served {_n(totals['rows_served_24h'])} rows, "
            f"{_n(totals['pii_reads_24h'])} of them with PII.",
            "",
            "### Tables",
            "",
            f"| table | rows | added ({hours}) | bytes | bytes on disk | files | version | "
            "last update | freshness |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
        ]
        for table in product["tables"]:
            if table["version"] is None:
                lines.append(f"| {table['table']} | never written |  |  |  |  |  |  |  |")
                continue
            lines.append(
                f"| {table['table']} | {_n(table['rows'])} | {_n(table['rows_added_24h'])} | "
                f"{_n(table['size_bytes'])} | {_n(table['storage_bytes'])} | "
                f"{_n(table['files'])} | {table['version']} | {table['last_modified']} | "
                f"{_age(table['freshness_seconds'])} |"
            )
        lines += ["", "### Quality checks (latest run of each model)", ""]
        lines += _table_or(
            "No models.",
            "| model | run | status | finished | checks |",
            "| --- | ---: | --- | --- | --- |",
            [
                f"| {run['model']} | {run['sequence'] or ''} | {run['status']} | "
                f"{run['finished_at'] or ''} | {_checks(run)} |"
                for run in product["quality"]
            ],
        )
        lines += ["", f"### API traffic (last {hours})", ""]
        lines += _table_or(
            "No reads.",
            "| route | table | reads | rows | PII reads |",
            "| --- | --- | ---: | ---: | ---: |",
            [
                f"| {row['route']} | {row['table']} | {_n(row['reads'])} | "
                f"{_n(row['rows'])} | {_n(row['pii_reads'])} |"
                for row in product["traffic"]
            ],
        )
    return "\n".join(lines) + "\n"


def _table_or(empty: str, header: str, alignment: str, rows: list[str]) -> list[str]:
    """A Markdown table's lines, or the one line saying there is nothing to show."""
    return [header, alignment, *rows] if rows else [empty]


def report_router() -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get(
        "/report",
        dependencies=[require(ADMIN)],
        summary="Per product: volumes, freshness, quality checks, storage and API traffic",
    )
    def report(
        request: Request,
        output: Annotated[ReportFormat, Query(alias="format")] = "json",
    ) -> Response:
        platform = services(request)
        built = build_report(platform.store, platform.lake, platform.products)
        if output == "markdown":
            return Response(render_markdown(built), media_type=MARKDOWN)
        return JSONOut(built)

    return router


def _existing_quarantines(product: Product, lake: Lakehouse) -> list[str]:
    return [name for name in quarantine_tables(product) if lake.exists(name)]


def _volume(lake: Lakehouse, name: str, now: datetime, since: datetime) -> dict[str, Any]:
    volume: dict[str, Any] = {
        "table": name,
        "layer": TableName.parse(name).layer,
        "rows": None,
        "rows_added_24h": None,
        "commits_24h": None,
        "size_bytes": None,
        "storage_bytes": None,
        "files": None,
        "version": None,
        "last_modified": None,
        "freshness_seconds": None,
    }
    if not lake.exists(name):
        return volume
    table = lake.table(name)
    stats = read_stats(table)
    added, commits = rows_added_since(table, since)
    return volume | {
        "rows": stats.row_count,
        "rows_added_24h": added,
        "commits_24h": commits,
        "size_bytes": stats.size_bytes,
        "storage_bytes": storage_bytes(lake, name),
        "files": stats.file_count,
        "version": stats.version,
        "last_modified": stats.last_modified.isoformat(),
        "freshness_seconds": round((now - stats.last_modified).total_seconds(), 3),
    }


def _latest_run(runs: RunLog, model: str) -> dict[str, Any]:
    latest = runs.history(model, limit=1)
    if not latest:
        return {
            "model": model,
            "status": "never run",
            "sequence": None,
            "finished_at": None,
            "rows_out": None,
            "checks": [],
            "error": None,
        }
    run = latest[0]
    return {
        "model": model,
        "status": run.status,
        "sequence": run.sequence,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "rows_out": run.rows_out,
        "checks": run.checks,
        "error": run.error,
    }


def _traffic(store: MetadataStore, since: datetime) -> list[dict[str, Any]]:
    """Data reads since `since` by table and route: how many, rows returned, with PII."""
    query = (
        select(
            AuditRecord.table_name,
            AuditRecord.route,
            func.count(),
            func.coalesce(func.sum(AuditRecord.row_count), 0),
            func.sum(case((AuditRecord.pii, 1), else_=0)),
        )
        .where(AuditRecord.action == "data.read", AuditRecord.recorded_at >= since)
        .group_by(AuditRecord.table_name, AuditRecord.route)
        .order_by(AuditRecord.table_name, AuditRecord.route)
    )
    with store.session() as session:
        return [
            {
                "table": table,
                "route": route,
                "reads": int(reads),
                "rows": int(rows),
                "pii_reads": int(pii_reads),
            }
            for table, route, reads, rows, pii_reads in session.execute(query)
        ]


def _checks(run: dict[str, Any]) -> str:
    if not run["checks"]:
        return run["error"] or ""
    parts = []
    for check in run["checks"]:
        label = f"{check['check']}({check['column']})" if check.get("column") else check["check"]
        if check["passed"]:
            parts.append(f"{label} passed")
        else:
            parts.append(f"{label} {check['severity']}: {check['failing_rows']} failing rows")
    return "; ".join(parts)


def _n(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
