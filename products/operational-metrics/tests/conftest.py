"""Hand-made platform telemetry (gateway scrapes, table statistics, model runs) written to the
platform's tables on a real lake, and the product's models run over it."""

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dataplatform.core.config import SLO
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import ModelGraph, ModelRunner, build_graph
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

# The gateway's latency buckets, in seconds, as its histogram declares them (and +Inf).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUESTS = "dataplatform_http_requests_total"
LATENCY = "dataplatform_http_request_duration_seconds"

Row = dict[str, Any]


def minute(n: int, second: int = 0, *, day: datetime | None = None) -> datetime:
    """`n` minutes (and `second` seconds) after 10:00 UTC on 2026-11-26 (or on `day`)."""
    start = day or datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    return start + timedelta(minutes=n, seconds=second)


@dataclass
class GatewayCounters:
    """The gateway's request counter and latency histogram, kept by hand: answer requests, then
    scrape them as the platform would (cumulative values, as Prometheus exposes them)."""

    service: str = "gateway"
    requests: dict[tuple[str, str, int], float] = field(default_factory=lambda: defaultdict(float))
    buckets: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    count: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    seconds: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))

    def answer(
        self,
        route: str,
        status: int = 200,
        *,
        took: float = 0.004,
        times: int = 1,
        method: str = "GET",
    ) -> None:
        """`times` requests to `route` answered with `status`, each in `took` seconds."""
        self.requests[(route, method, status)] += times
        series = self.buckets.setdefault((route, method), [0.0] * len(BUCKETS))
        for index, bound in enumerate(BUCKETS):
            if took <= bound:
                series[index] += times
        self.count[(route, method)] += times
        self.seconds[(route, method)] += took * times

    def restart(self) -> None:
        """The gateway restarts: every series is gone until its route is called again."""
        self.requests.clear()
        self.buckets.clear()
        self.count.clear()
        self.seconds.clear()

    def scrape(self, at: datetime) -> list[Row]:
        """The samples of `dataplatform_*` metrics at `at`, as platform.gold.service_metrics holds them."""
        rows = []
        for (route, method, status), value in self.requests.items():
            rows.append(
                self._row(at, REQUESTS, value, route=route, method=method, status=str(status))
            )
        for (route, method), series in self.buckets.items():
            for bound, value in zip(BUCKETS, series, strict=True):
                rows.append(
                    self._row(
                        at, f"{LATENCY}_bucket", value, route=route, method=method, le=repr(bound)
                    )
                )
            total = self.count[(route, method)]
            rows.append(
                self._row(at, f"{LATENCY}_bucket", total, route=route, method=method, le="+Inf")
            )
            rows.append(self._row(at, f"{LATENCY}_count", total, route=route, method=method))
            rows.append(
                self._row(
                    at, f"{LATENCY}_sum", self.seconds[(route, method)], route=route, method=method
                )
            )
        return rows

    def _row(self, at: datetime, metric: str, value: float, **labels: str) -> Row:
        labels["service"] = self.service
        return {
            "scraped_at": at,
            "service": self.service,
            "metric": metric,
            "labels": json.dumps(labels, sort_keys=True),
            "value": float(value),
        }


def observation(
    at: datetime,
    table: str,
    version: int,
    rows: int,
    size: int,
    committed: datetime | None = None,
) -> Row:
    """A row of platform.gold.table_stats: `table` (`product.layer.name`, product in snake case)
    seen at `version` with `rows` rows of `size` bytes, committed at `committed` (default `at`)."""
    namespace, layer, _ = table.split(".")
    return {
        "observed_at": at,
        "table_name": table,
        "product": namespace.replace("_", "-"),
        "layer": layer,
        "version": version,
        "row_count": rows,
        "size_bytes": size,
        "last_modified": committed or at,
    }


def model_run(
    run_id: int,
    model: str,
    finished: datetime,
    status: str = "succeeded",
    *,
    took_ms: float = 100.0,
    rows_in: int = 10,
    rows_out: int = 10,
    quarantined: int = 0,
    checks_failed: int = 0,
    error: str | None = None,
) -> Row:
    """A row of platform.gold.model_runs: `model` (`product.layer.name`) run `run_id`."""
    return {
        "run_id": run_id,
        "product": model.split(".")[0].replace("_", "-"),
        "model": model,
        "mode": "incremental",
        "engine": "duckdb",
        "status": status,
        "started_at": finished - timedelta(milliseconds=took_ms),
        "finished_at": finished,
        "duration_ms": took_ms,
        "rows_in": rows_in,
        "rows_out": rows_out,
        "rows_quarantined": quarantined,
        "checks_failed": checks_failed,
        "checks": json.dumps([{"passed": False}] * checks_failed),
        "error": error,
    }


def bus_measure(
    at: datetime,
    stream: str,
    waiting: int | None,
    oldest_seconds: float | None,
    bus: str = "redis",
) -> Row:
    """A row of platform.gold.bus_lag: `waiting` events on the bus for `stream` (`product.bronze.
    name`, product in snake case) at `at`, the oldest waiting for `oldest_seconds`."""
    return {
        "observed_at": at,
        "product": stream.split(".")[0].replace("_", "-"),
        "stream": stream,
        "bus": bus,
        "waiting_events": waiting,
        "oldest_waiting_seconds": oldest_seconds,
    }


def publish_platform_tables(
    lake: Lakehouse,
    scrapes: Iterable[Row] = (),
    observations: Iterable[Row] = (),
    runs: Iterable[Row] = (),
    bus: Iterable[Row] = (),
) -> None:
    """Append rows to the platform's published tables (created empty first, as the jobs do)."""
    for table, schema, rows in (
        (SERVICE_METRICS_TABLE, SERVICE_METRICS_SCHEMA, list(scrapes)),
        (TABLE_STATS_TABLE, TABLE_STATS_SCHEMA, list(observations)),
        (MODEL_RUNS_TABLE, MODEL_RUNS_SCHEMA, list(runs)),
        (BUS_LAG_TABLE, BUS_LAG_SCHEMA, list(bus)),
    ):
        if not lake.exists(table):
            lake.create(table, schema)
        if rows:
            lake.append(table, pa.Table.from_pylist(rows, schema))


def shop(*slos: SLO, gold: bool = True) -> WatchedProduct:
    """A product `shop` at `/shop` with `slos`."""
    return watched("shop", "/shop", *slos, gold=gold)


def watched(name: str, prefix: str, *slos: SLO, gold: bool = True) -> WatchedProduct:
    """A product `name` at `prefix` with `slos` (and gold tables unless `gold` is false)."""
    return WatchedProduct(name, prefix, gold, tuple(slos))


def slo(name: str, indicator: str, threshold: float, target: float) -> SLO:
    return SLO(name=name, indicator=indicator, threshold=threshold, target=target, description=name)  # type: ignore[arg-type]


@dataclass
class Metrics:
    """The product's models over a lake: publish platform rows, run, read the tables."""

    lake: Lakehouse
    runner: ModelRunner

    def publish(self, **rows: Iterable[Row]) -> None:
        publish_platform_tables(self.lake, **rows)

    def run(self, *models: str) -> None:
        """Run `models` (every model by default), which must all succeed or be up to date.

        Tests run only the models they are about: a runner parses each model's column lineage
        on its first run, which costs more than the run itself on these small cases.
        """
        results = self.runner.run(list(models) or None)
        failed = [r for r in results if r.status not in ("succeeded", "up_to_date")]
        assert not failed, failed

    def rows(self, table: str, **where: Any) -> list[Row]:
        """Rows of `operational_metrics.<table>` whose columns equal `where`."""
        rows = self.lake.read(f"operational_metrics.{table}").to_pylist()
        return [row for row in rows if all(row[k] == v for k, v in where.items())]

    def row(self, table: str, **where: Any) -> Row:
        (found,) = self.rows(table, **where)
        return found

    def watching(self, *watched: WatchedProduct) -> "Metrics":
        """The same lake and run records, with the models watching `watched` instead: the
        products or their SLOs changed, and the models were loaded again."""
        return Metrics(
            self.lake, ModelRunner(graph_watching(watched), self.lake, self.runner.runs.store)
        )


def graph_watching(watched: Sequence[WatchedProduct]) -> ModelGraph:
    """The product's models, watching hand-made products instead of the installed ones."""
    return build_graph(
        product.namespace,
        models_watching(watched, product.settings()),
        [table.name for table in product.tables],
    )


@pytest.fixture(scope="module")
def metrics_watching(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Metrics]:
    """Makes a `Metrics` over a new lake and store, watching the products given (module-scoped,
    for fixtures that build a case once for several tests)."""

    def make(*watched: WatchedProduct) -> Metrics:
        folder: Path = tmp_path_factory.mktemp("metrics")
        store = MetadataStore(f"sqlite:///{folder / 'runs.db'}")
        store.upgrade()
        lake = Lakehouse(folder / "lake")
        return Metrics(lake, ModelRunner(graph_watching(watched), lake, store))

    return make


@dataclass(frozen=True)
class HandMade:
    """The builders above, for test modules (which cannot import this file)."""

    minute: Callable[..., datetime] = minute
    observation: Callable[..., Row] = observation
    model_run: Callable[..., Row] = model_run
    bus_measure: Callable[..., Row] = bus_measure
    shop: Callable[..., WatchedProduct] = shop
    product: Callable[..., WatchedProduct] = watched
    slo: Callable[..., SLO] = slo
    counters: Callable[..., GatewayCounters] = GatewayCounters
    publish: Callable[..., None] = publish_platform_tables


@pytest.fixture(scope="session")
def hand() -> HandMade:
    return HandMade()
