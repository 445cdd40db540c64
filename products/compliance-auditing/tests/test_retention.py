"""The `enforce_retention` job on a hand-made lake and catalog, at a fixed time NOW:

mobile bronze app_events, 30 days: events 40, 31, 29 and 1 day old  -> 2 removed
web gold daily_overview, 10 days: days NOW-12, NOW-11, NOW-10, NOW  -> 2 removed (the day
    of the cutoff itself stays: it is not wholly older than 10 days)
mobile gold retention, 5 days: only cohort_day and day_n, no time column -> skipped
platform.gold.audit_log, 1 day: the platform's, left alone
web gold pages: no retention; web silver identities: not in the lake -> not in the runs
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compliance_auditing.product import product
from compliance_auditing.retention import run_retention
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.jobs import JobContext
from dataplatform.platform.telemetry import CATALOG_SCHEMA, CATALOG_TABLE
from dataplatform.testing import RunningGateway, app_events, platform_settings, running_gateway

RETENTION_TABLE = product.context().table("gold.retention_runs")

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MOBILE = "mobile_user_analytics.bronze.app_events"
OVERVIEW = "web_user_analytics.gold.daily_overview"
COHORTS = "mobile_user_analytics.gold.retention"
AUDIT = "platform.gold.audit_log"


def catalog_row(table: str, retention: int | None) -> dict[str, Any]:
    product_, layer, _ = table.split(".")
    return {
        "table_name": table,
        "product": product_,
        "layer": layer,
        "owner": "someone",
        "description": "",
        "tags": [],
        "retention_days": retention,
        "pii_columns": [],
        "columns": "[]",
    }


def fill(lake: Lakehouse) -> None:
    lake.append(
        CATALOG_TABLE,
        pa.Table.from_pylist(
            [
                catalog_row(MOBILE, 30),
                catalog_row(OVERVIEW, 10),
                catalog_row(COHORTS, 5),
                catalog_row(AUDIT, 1),
                catalog_row("web_user_analytics.gold.pages", None),
                catalog_row("web_user_analytics.silver.identities", 10),
            ],
            CATALOG_SCHEMA,
        ),
    )
    lake.append(
        MOBILE,
        pa.concat_tables(
            [app_events(f"e-{age}", at=NOW - timedelta(days=age)) for age in (40, 31, 29, 1)]
        ),
    )
    today = NOW.date()
    days = [today - timedelta(days=n) for n in (12, 11, 10, 0)]
    lake.append(OVERVIEW, pa.table({"day": days, "visitors": [1, 2, 3, 4]}))
    lake.append(COHORTS, pa.table({"cohort_day": [date(2020, 1, 1)], "day_n": [1]}))
    lake.append(AUDIT, pa.table({"seq": [1], "recorded_at": [NOW - timedelta(days=9)]}))


def context(lake: Lakehouse) -> JobContext:
    return JobContext.extending(product.context(), lake=lake)


@dataclass
class Enforced:
    lake: Lakehouse
    first: dict[str, Any]
    second: dict[str, Any]
    runs: list[dict[str, Any]]


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory) -> Enforced:
    lake = Lakehouse(tmp_path_factory.mktemp("retention") / "lake")
    fill(lake)
    first = dict(run_retention(context(lake), now=NOW))
    second = dict(run_retention(context(lake), now=NOW + timedelta(hours=1)))
    runs = lake.read(RETENTION_TABLE).sort_by(
        [("run_at", "ascending"), ("table_name", "ascending")]
    )
    return Enforced(lake, first, second, runs.to_pylist())


def test_only_old_rows_go(enforced: Enforced) -> None:
    events = sorted(enforced.lake.read(MOBILE)["event_id"].to_pylist())
    days = sorted(enforced.lake.read(OVERVIEW)["visitors"].to_pylist())

    assert events == ["e-1", "e-29"]
    assert days == [3, 4]
    assert enforced.lake.read(AUDIT).num_rows == 1


def test_what_it_did_is_recorded_per_table(enforced: Enforced) -> None:
    first = [
        (r["table_name"], r["status"], r["time_column"], r["rows_removed"], r["retention_days"])
        for r in enforced.runs[:3]
    ]

    assert first == [
        (MOBILE, "removed", "timestamp", 2, 30),
        (COHORTS, "skipped", None, 0, 5),
        (OVERVIEW, "removed", "day", 2, 10),
    ]
    mobile = enforced.runs[0]
    assert mobile["cutoff"] == NOW - timedelta(days=30)
    assert mobile["version_before"] == 0
    assert mobile["version_after"] >= 1
    assert mobile["change_rows_scrubbed"] == 2
    assert "no time column" in enforced.runs[1]["reason"]
    assert enforced.first == {
        "run_id": enforced.runs[0]["run_id"],
        "tables": 3,
        "rows_removed": 4,
        "skipped": [COHORTS],
        "failed": [],
    }


def test_a_second_run_finds_nothing_due(enforced: Enforced) -> None:
    second = [(r["table_name"], r["status"], r["rows_removed"]) for r in enforced.runs[3:]]

    assert second == [
        (MOBILE, "nothing_due", 0),
        (COHORTS, "skipped", 0),
        (OVERVIEW, "nothing_due", 0),
    ]
    assert enforced.second["rows_removed"] == 0


def test_expired_rows_leave_the_change_data_and_the_feed_stays_readable(enforced: Enforced) -> None:
    folder = Path(enforced.lake.root) / "mobile_user_analytics/bronze/app_events/_change_data"
    texts = [
        orjson.dumps(pq.read_table(p).to_pylist(), default=str) for p in folder.rglob("*.parquet")
    ]

    assert texts and not any(b"e-40" in text or b"e-31" in text for text in texts)
    assert enforced.lake.changes_since(MOBILE, 0).num_rows == 0


def test_without_a_published_catalog_it_waits(lake: Lakehouse) -> None:
    summary = run_retention(context(lake), now=NOW)

    assert summary["status"] == "waiting"
    assert not lake.exists(RETENTION_TABLE)


@pytest.fixture(scope="module")
def gateway(
    enforced: Enforced, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    folder = tmp_path_factory.mktemp("retention-api")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", Path(enforced.lake.root))
    with running_gateway(settings) as running:
        yield running


def test_the_runs_are_served_newest_first(gateway: RunningGateway) -> None:
    headers = gateway.headers_for("rita", ["viewer"])
    url = f"{gateway.url}/compliance/retention"

    rows = httpx.get(url, headers=headers).json()["rows"]
    removed = httpx.get(url, headers=headers, params={"status": "removed"}).json()["rows"]
    one = httpx.get(url, headers=headers, params={"table": OVERVIEW, "limit": 1}).json()

    assert [(r["table_name"], r["status"]) for r in rows] == [
        (MOBILE, "nothing_due"),
        (COHORTS, "skipped"),
        (OVERVIEW, "nothing_due"),
        (MOBILE, "removed"),
        (COHORTS, "skipped"),
        (OVERVIEW, "removed"),
    ]
    assert [(r["table_name"], r["rows_removed"]) for r in removed] == [(MOBILE, 2), (OVERVIEW, 2)]
    assert [r["status"] for r in one["rows"]] == ["nothing_due"] and one["next_cursor"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "deleted"}, "query.status"),
        ({"table": "overview"}, "query.table"),
        ({"from": "2026-11-21", "to": "2026-11-20"}, "query.from"),
    ],
)
def test_bad_filters_name_the_field(
    gateway: RunningGateway, params: dict[str, Any], field: str
) -> None:
    response = httpx.get(
        f"{gateway.url}/compliance/retention", params=params, headers=gateway.admin
    )

    assert response.status_code == 422
    assert response.json()["field"] == field


def test_the_runs_need_a_credential(gateway: RunningGateway) -> None:
    assert httpx.get(f"{gateway.url}/compliance/retention").status_code == 401
