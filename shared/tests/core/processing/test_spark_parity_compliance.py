"""compliance-auditing's models give the same rows on Spark (local mode) as on DuckDB, over a
small audit log in the image of the product's tests: key creations and uses (one after a long
idle spell, one by a key created before the log began), daily reads that build a baseline then
a day far above it, PII reads with and without roles, a failed login, and lineage recorded
twice for one model. The second publication adds reads to a day the first already reported
and records a model's lineage anew."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pytest
from spark_parity import (
    assert_spark_writes_what_duckdb_writes,
    lakes_on_both_engines,
    sql_models,
)

from compliance_auditing.product import product
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.audit import (
    AUDIT_SCHEMA,
    AUDIT_TABLE,
    GENESIS_HASH,
    LINEAGE_SCHEMA,
    LINEAGE_TABLE,
    AuditEntry,
    content_hash,
)

# Every model runs on both engines in two ticks: minutes in Spark's local mode, beyond the
# suite's default timeout (as for the web product's parity).
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1200)]

PAGES = "web_user_analytics.gold.pages"
USER_SUMMARY = "mobile_user_analytics.gold.user_summary"
ACTIVE_USERS = "mobile_user_analytics.gold.active_users"
M = "mobile_user_analytics"


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def read(
    actor: str,
    when: datetime,
    table: str,
    rows: int,
    roles: list[str],
    *,
    pii: bool = False,
    kind: str = "user",
) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        actor_kind=kind,
        action="data.read",
        method="GET",
        route="/x/{table}",
        status=200,
        table_name=table,
        row_count=rows,
        pii=pii,
        request_id=f"r-{actor}-{when:%m%d%H}",
        detail={"columns": ["day", "views"], "roles": roles},
        recorded_at=when,
    )


def key_created(name: str, when: datetime) -> AuditEntry:
    return AuditEntry(
        actor="root",
        actor_kind="user",
        action="keys.create",
        method="POST",
        route="/admin/api-keys",
        status=201,
        detail={"name": name, "roles": ["viewer"]},
        recorded_at=when,
    )


def key_read(key: str, when: datetime) -> AuditEntry:
    return read(f"key:{key}", when, ACTIVE_USERS, 30, ["viewer"], kind="api_key")


FIRST_PUBLICATION = [
    key_created("etl", at(8, 1, 9)),
    key_read("etl", at(8, 5)),
    key_read("old", at(9, 1)),  # created before the log began
    key_read("etl", at(9, 14)),  # 40 days idle
    *(read(actor, at(9, day), PAGES, 10, ["viewer"]) for day in range(20, 30) for actor in "io"),
    read("i", at(9, 30, 10), PAGES, 60, ["viewer"]),
    read("o", at(9, 30, 10), PAGES, 99, ["viewer"]),
    read("pat", at(9, 30, 11), USER_SUMMARY, 3, ["pii-reader", "viewer"], pii=True),
]
SECOND_PUBLICATION = [
    read("i", at(9, 30, 14), PAGES, 40, ["viewer"]),  # the same day as reported, 100 rows now
    key_read("old", at(10, 2)),  # a month idle
    read("pat", at(10, 1, 10), USER_SUMMARY, 2, [], pii=True),
    read("pat", at(10, 1, 11), USER_SUMMARY, 5, ["pii-reader"], pii=True),
    AuditEntry(
        actor="eve",
        actor_kind="user",
        action="auth.login",
        outcome="failure",
        status=401,
        recorded_at=at(10, 1, 16),
    ),
]


def chained(entries: list[AuditEntry], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`entries` as audit rows, hash-linked after the rows `after`."""
    rows: list[dict[str, Any]] = []
    for entry in entries:
        seq = len(after) + len(rows) + 1
        previous = (rows or after)[-1]["hash"] if rows or after else GENESIS_HASH
        fields = {name: getattr(entry, name) for name in AUDIT_SCHEMA.names if hasattr(entry, name)}
        detail = orjson.dumps(entry.detail, option=orjson.OPT_SORT_KEYS).decode()
        hashed = content_hash(seq, entry, previous)
        rows.append({**fields, "detail": detail, "seq": seq, "prev_hash": previous, "hash": hashed})
    return rows


def lineage(first_id: int, model: str, when: datetime, *columns: str) -> list[dict[str, Any]]:
    """`model`'s edges silver.app_events.<column> -> gold.user_summary.<column>, recorded at `when`."""
    return [
        {
            "edge_id": edge_id,
            "model": model,
            "source_table": f"{M}.silver.app_events",
            "source_column": column,
            "target_table": f"{M}.gold.user_summary",
            "target_column": column,
            "recorded_at": when,
        }
        for edge_id, column in enumerate(columns, first_id)
    ]


FIRST_LINEAGE = lineage(1, "m.summary", at(9, 1), "device_id", "user_id")
LATE_LINEAGE = lineage(3, "m.summary", at(9, 15), "user_id", "event")


def world(lake: Lakehouse) -> Iterator[None]:
    """Both publications of the audit log (one hash chain) and the lineage, a tick after each."""
    lake.create(AUDIT_TABLE, AUDIT_SCHEMA)
    published: list[dict[str, Any]] = []
    for entries, edges in ((FIRST_PUBLICATION, FIRST_LINEAGE), (SECOND_PUBLICATION, LATE_LINEAGE)):
        rows = chained(entries, published)
        published += rows
        lake.append(AUDIT_TABLE, pa.Table.from_pylist(rows, AUDIT_SCHEMA))
        lake.append(LINEAGE_TABLE, pa.Table.from_pylist(edges, LINEAGE_SCHEMA))
        yield


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Lakehouse]]:
    yield from lakes_on_both_engines(tmp_path_factory, product.model_graph(), world)


@pytest.mark.parametrize("table", sql_models(product.model_graph()))
def test_spark_writes_what_duckdb_writes(lakes: dict[str, Lakehouse], table: str) -> None:
    assert_spark_writes_what_duckdb_writes(lakes, table)
