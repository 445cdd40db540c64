"""operational-metrics' models give the same rows on Spark (local mode) as on DuckDB, over small
platform telemetry in the image of the product's tests, watching two hand-made products (`shop`
with an SLO of every indicator, `pay` with gold tables never committed): a gateway's request
counters and latency histogram scraped twice a minute, with failures, slow answers and a
restart; table statistics of every layer (a retention delete shrinks one); model runs that
succeed, fail and fail checks; and the bus lag of two streams. The second publication brings
the next minutes, and a model run and a table's statistics that arrive late."""

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from spark_parity import (
    assert_spark_writes_what_duckdb_writes,
    lakes_on_both_engines,
    sql_models,
)

from dataplatform.core.config import SLO
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import (
    ModelGraph,
    build_graph,
)
from dataplatform.platform.telemetry import (
    BUS_LAG_SCHEMA,
    BUS_LAG_TABLE,
    MODEL_RUNS_SCHEMA,
    MODEL_RUNS_TABLE,
    SERVICE_METRICS_SCHEMA,
    SERVICE_METRICS_TABLE,
    TABLE_STATS_SCHEMA,
    TABLE_STATS_TABLE,
)
from operational_metrics.processing import WatchedProduct, models_watching
from operational_metrics.product import product

# Every model runs on both engines in two ticks: minutes in Spark's local mode, beyond the
# suite's default timeout (as for the web product's parity).
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1200)]

Row = dict[str, Any]
BUCKETS = (0.005, 0.1, 0.5, 1.0)  # seconds; and +Inf
REQUESTS = "dataplatform_http_requests_total"
LATENCY = "dataplatform_http_request_duration_seconds"


def minute(n: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 26, 10, 0, tzinfo=UTC) + timedelta(minutes=n, seconds=second)


class Gateway:
    """The gateway's cumulative request counter and latency histogram, scraped as the platform
    publishes them (platform.gold.service_metrics)."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], float] = defaultdict(float)
        self.latency: dict[str, list[float]] = defaultdict(lambda: [0.0] * (len(BUCKETS) + 2))

    def answer(self, route: str, status: int = 200, took: float = 0.004, times: int = 1) -> None:
        self.requests[(route, status)] += times
        series = self.latency[route]  # the buckets, then +Inf (the count), then the sum
        for index, bound in enumerate(BUCKETS):
            series[index] += times if took <= bound else 0
        series[-2] += times
        series[-1] += took * times

    def restart(self) -> None:
        self.requests.clear()
        self.latency.clear()

    def scrape(self, at: datetime) -> list[Row]:
        rows = [
            sample(at, REQUESTS, value, route=route, method="GET", status=str(status))
            for (route, status), value in self.requests.items()
        ]
        for route, series in self.latency.items():
            bounds = [repr(bound) for bound in BUCKETS] + ["+Inf"]
            rows += [
                sample(at, f"{LATENCY}_bucket", value, route=route, method="GET", le=le)
                for le, value in zip(bounds, series, strict=False)
            ]
            rows.append(sample(at, f"{LATENCY}_count", series[-2], route=route, method="GET"))
            rows.append(sample(at, f"{LATENCY}_sum", series[-1], route=route, method="GET"))
        return rows


def sample(at: datetime, metric: str, value: float, **labels: str) -> Row:
    labels["service"] = "gateway"
    labels_text = json.dumps(labels, sort_keys=True)
    return {
        "scraped_at": at,
        "service": "gateway",
        "metric": metric,
        "labels": labels_text,
        "value": value,
    }


def observation(at: datetime, table: str, version: int, rows: int, committed: datetime) -> Row:
    namespace, layer, _ = table.split(".")
    return {
        "observed_at": at,
        "table_name": table,
        "product": namespace.replace("_", "-"),
        "layer": layer,
        "version": version,
        "row_count": rows,
        "size_bytes": 10 * rows,
        "last_modified": committed,
    }


def model_run(
    run_id: int, model: str, finished: datetime, status: str = "succeeded", **counts: Any
) -> Row:
    return {
        "run_id": run_id,
        "product": model.split(".")[0],
        "model": model,
        "mode": "incremental",
        "engine": "duckdb",
        "status": status,
        "started_at": finished - timedelta(milliseconds=250),
        "finished_at": finished,
        "duration_ms": 250.0,
        "rows_in": counts.get("rows_in", 10),
        "rows_out": counts.get("rows_out", 10),
        "rows_quarantined": counts.get("quarantined", 0),
        "checks_failed": counts.get("checks_failed", 0),
        "checks": json.dumps([{"passed": False}] * counts.get("checks_failed", 0)),
        "error": "boom" if status == "failed" else None,
    }


def bus_measure(at: datetime, stream: str, waiting: int | None, oldest: float | None) -> Row:
    product_name = stream.split(".")[0]
    return {
        "observed_at": at,
        "product": product_name,
        "stream": stream,
        "bus": "redis",
        "waiting_events": waiting,
        "oldest_waiting_seconds": oldest,
    }


def publications() -> list[dict[str, list[Row]]]:
    """Ten busy minutes of shop (failures in minutes 3 to 5, slow answers in 4 to 6, a restart
    at 7) and two publications of them, the second with late rows of the first's minutes."""
    gateway = Gateway()
    scrapes: list[list[Row]] = []
    for n in range(10):
        if n == 7:
            gateway.restart()
        gateway.answer("/shop/orders", times=20 + n)
        gateway.answer("/shop/orders", 500 if 3 <= n <= 5 else 404, times=n % 3)
        gateway.answer("/shop/search", took=0.7 if 4 <= n <= 6 else 0.05, times=5)
        gateway.answer("/pay/charges", times=2)
        gateway.answer("/health")
        scrapes.append(gateway.scrape(minute(n, 10)) + gateway.scrape(minute(n, 40)))
    bronze, silver, gold = (f"shop.{layer}.orders" for layer in ("bronze", "silver", "gold"))
    first = {
        "scrapes": [row for rows in scrapes[:6] for row in rows],
        "observations": [
            observation(minute(0, 5), bronze, 1, 100, minute(0, 2)),
            observation(minute(0, 5), gold, 1, 10, minute(0, 3)),
            observation(minute(2, 5), bronze, 2, 150, minute(2, 1)),
            observation(minute(4, 5), silver, 1, 40, minute(4, 1)),
        ],
        "runs": [
            model_run(1, "shop.silver.orders", minute(1)),
            model_run(2, "shop.gold.orders", minute(1, 30), checks_failed=1),
            model_run(3, "shop.gold.orders", minute(3), "failed"),
        ],
        "bus": [
            bus_measure(minute(1), "shop.bronze.orders", 40, 12.5),
            bus_measure(minute(3), "shop.bronze.orders", 0, None),
            bus_measure(minute(3), "pay.bronze.charges", None, None),
        ],
    }
    late = {
        "scrapes": [row for rows in scrapes[6:] for row in rows],
        "observations": [
            observation(minute(5, 5), bronze, 3, 120, minute(5, 1)),  # retention deleted some
            observation(minute(8, 5), gold, 2, 12, minute(8, 2)),
        ],
        "runs": [
            model_run(4, "shop.gold.orders", minute(2, 30)),  # late: before run 3
            model_run(5, "shop.gold.orders", minute(8), quarantined=2),
        ],
        "bus": [bus_measure(minute(2), "shop.bronze.orders", 7, 3.0)],  # late
    }
    return [first, late]


def slo(name: str, indicator: str, threshold: float, target: float) -> SLO:
    return SLO(name=name, indicator=indicator, threshold=threshold, target=target, description=name)  # type: ignore[arg-type]


WATCHED = (
    WatchedProduct(
        "shop",
        "/shop",
        True,
        (
            slo("available", "availability", 1, 0.99),
            slo("fast", "latency_ms", 100, 0.9),
            slo("errors", "error_rate", 0.05, 0.95),
            slo("fresh", "freshness_seconds", 120, 0.5),
        ),
    ),
    WatchedProduct("pay", "/pay", True, (slo("fresh", "freshness_seconds", 60, 0.9),)),
)


def graph() -> ModelGraph:
    """The product's models, watching the two products above instead of the installed ones."""
    tables = [table.name for table in product.tables]
    return build_graph(product.namespace, models_watching(WATCHED, product.settings()), tables)


PLATFORM_TABLES = {
    "scrapes": (SERVICE_METRICS_TABLE, SERVICE_METRICS_SCHEMA),
    "observations": (TABLE_STATS_TABLE, TABLE_STATS_SCHEMA),
    "runs": (MODEL_RUNS_TABLE, MODEL_RUNS_SCHEMA),
    "bus": (BUS_LAG_TABLE, BUS_LAG_SCHEMA),
}


def world(lake: Lakehouse) -> Iterator[None]:
    """Both publications of the platform's tables, a tick after each."""
    for published in publications():
        for kind, (table, schema) in PLATFORM_TABLES.items():
            lake.append(table, pa.Table.from_pylist(published[kind], schema))
        yield


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Lakehouse]]:
    yield from lakes_on_both_engines(tmp_path_factory, graph(), world)


@pytest.mark.parametrize("table", sql_models(graph()))
def test_spark_writes_what_duckdb_writes(lakes: dict[str, Lakehouse], table: str) -> None:
    assert_spark_writes_what_duckdb_writes(lakes, table)
