"""The /ops API through a real gateway, over gold tables the models computed from hand-made
platform telemetry; every expected figure is worked out below.

The gateway is scraped at :30 of each minute, 10:00 to 10:09 on 2026-11-26 (10:00:30 is the
baseline). From 10:01, each minute: 20 calls of /ops/overview (4 ms each) and 10 of
/mobile/activity (4 ms); at 10:05 also 2 calls of /ops/overview failing with 500 (300 ms).

operational-metrics' SLOs (its config): availability 99.9%: 2 of 182 failed, 1.1% of requests,
11 times the 0.1% budget; the alerts' windows all start at 10:01, so from 10:05 every window
burns at 2/102 / 0.001 = 19.6 (over 14.4 and over 6): a fast and a slow incident open at 10:05,
still open at 10:09 (10:05 is in the 5-minute window). api_latency (500 ms, 99%): all 182 within
500 ms. metrics_freshness (120 s, 99%): its gold table slo_status was committed at 10:00:04 and
10:08:00; judged at :30, it is fresh at 10:00 (26 s), 10:01 (86 s), 10:08 and 10:09: 4 of 10,
so 6 bad minutes spend 60 times the 1% budget. At 10:02 (146 s) one minute of three is bad: 33
times the budget over every window, so its fast and slow incidents open then; at 10:09 the
5-minute window 10:05..10:09 still holds 3 bad minutes (60): both still open.

mobile-user-analytics' bronze table grows from 100 rows (10:00:05, the baseline) to 150 (10:04:05,
+5000 B); one of its model runs failed at 10:03. Its Redis bus holds 30 events at 10:05:30 (the
oldest 90 s old), 7 at 10:09:10 (40 s) and 5 at 10:09:30 (12.5 s): the minute 10:09 is judged at
its last measurement (5, 12.5 s); the 5 minutes from 10:05 at their worst minute (30, 90 s).
web-user-analytics' embedded bus holds nothing at 10:09:30; operational-metrics has no stream, so
no bus is measured for it.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.processing import ModelRunner
from dataplatform.core.product import discover_products
from dataplatform.testing import RunningGateway, platform_settings, running_gateway
from operational_metrics.product import product

OPS = "operational-metrics"
MOBILE_BRONZE = "mobile_user_analytics.bronze.app_events"
WEB_BRONZE = "web_user_analytics.bronze.clickstream"
SLO_STATUS = "operational_metrics.gold.slo_status"
INSTALLED = sorted(p.name for p in discover_products())


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, hand: Any) -> Iterator[RunningGateway]:
    folder: Path = tmp_path_factory.mktemp("gateway")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    with running_gateway(settings) as running:
        lake = running.services.lake
        _publish_telemetry(lake, hand)
        store = MetadataStore(f"sqlite:///{folder / 'runs.db'}")
        store.upgrade()
        results = ModelRunner(product.model_graph(), lake, store).run()
        assert all(r.status == "succeeded" for r in results), results
        yield running


def _publish_telemetry(lake: Any, hand: Any) -> None:
    at, seen, run, bus = hand.minute, hand.observation, hand.model_run, hand.bus_measure
    gateway = hand.counters()
    gateway.answer("/health")
    scrapes = gateway.scrape(at(0, 30))
    for n in range(1, 10):
        gateway.answer("/ops/overview", times=20)
        gateway.answer("/mobile/activity", times=10)
        if n == 5:
            gateway.answer("/ops/overview", 500, took=0.3, times=2)
        scrapes += gateway.scrape(at(n, 30))
    hand.publish(
        lake,
        scrapes=scrapes,
        observations=[
            seen(at(0, 5), SLO_STATUS, 1, 3, 2000, at(0, 4)),
            seen(at(8, 5), SLO_STATUS, 2, 3, 2100, at(8, 0)),
            seen(at(0, 5), MOBILE_BRONZE, 1, 100, 10_000),
            seen(at(4, 5), MOBILE_BRONZE, 2, 150, 15_000),
        ],
        runs=[
            run(1, "operational_metrics.gold.slo_status", at(2, 0), took_ms=120),
            run(2, "mobile_user_analytics.silver.app_events", at(3, 0), "failed", error="boom"),
        ],
        bus=[
            bus(at(5, 30), MOBILE_BRONZE, 30, 90.0),
            bus(at(9, 10), MOBILE_BRONZE, 7, 40.0),
            bus(at(9, 30), MOBILE_BRONZE, 5, 12.5),
            bus(at(9, 30), WEB_BRONZE, 0, 0.0, bus="embedded"),
        ],
    )


@pytest.fixture(scope="module")
def admin(gateway: RunningGateway) -> dict[str, str]:
    return gateway.admin


@pytest.fixture(scope="module")
def get(gateway: RunningGateway, admin: dict[str, str]) -> Callable[..., Any]:
    def get(path: str, **params: Any) -> Any:
        response = httpx.get(f"{gateway.url}/ops{path}", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return response.json()

    return get


def refused(gateway: RunningGateway, admin: dict[str, str], path: str, **params: Any) -> Any:
    response = httpx.get(f"{gateway.url}/ops{path}", params=params, headers=admin)
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.status_code, response.json().get("field"), response.json()["detail"]


# --- overview -------------------------------------------------------------------------------


def test_the_overview_lists_every_product_with_a_status(get: Callable[..., Any]) -> None:
    rows = get("/overview")["rows"]
    by_product = {row["product"]: row for row in rows}

    assert [row["product"] for row in rows] == INSTALLED
    assert by_product[OPS] == {
        "product": OPS,
        "status": "critical",  # open fast-burn incidents
        "evaluated_at": "2026-11-26T10:09:00+00:00",
        "slos": 3,
        "slos_ok": 1,  # api_latency
        "slos_without_data": 0,
        "slos_failing": ["availability", "metrics_freshness"],
        "open_incidents": 4,  # fast and slow, of availability and of metrics_freshness
        "lowest_error_budget_left": pytest.approx(1 - 0.6 / 0.01),  # metrics_freshness
        "requests_1h": 182,
        "error_rate_1h": pytest.approx(2 / 182),
        "gold_age_seconds": 90.0,  # 10:09:30 - 10:08:00
        "bronze_to_gold_lag_seconds": None,  # it has no bronze table
        "bus_lag_events": None,  # it has no stream: no bus measured
        "bus_lag_seconds": None,
    }
    assert by_product["mobile-user-analytics"]["requests_1h"] == 90
    mobile, web = by_product["mobile-user-analytics"], by_product["web-user-analytics"]
    assert (mobile["bus_lag_events"], mobile["bus_lag_seconds"]) == (5, 12.5)
    assert (web["bus_lag_events"], web["bus_lag_seconds"]) == (0, 0.0)
    assert {row["status"] for row in rows} <= {"critical", "warning", "ok", "no_data"}


def test_the_overview_pages(get: Callable[..., Any]) -> None:
    first = get("/overview", limit=2)
    second = get("/overview", limit=2, cursor=first["next_cursor"])

    assert [r["product"] for r in first["rows"] + second["rows"]] == INSTALLED[:4]


# --- one product ------------------------------------------------------------------------------


def test_one_products_slos_incidents_last_hour_tables_and_models(
    get: Callable[..., Any], hand: Any
) -> None:
    ops = get(f"/products/{OPS}")

    assert ops["status"] == "critical"
    assert {s["slo"]: s["status"] for s in ops["slos"]} == {
        "api_latency": "ok",
        "availability": "fast_burn",
        "metrics_freshness": "fast_burn",  # 40% compliance, under target too; burning comes first
    }
    freshness = next(s for s in ops["slos"] if s["slo"] == "metrics_freshness")
    assert freshness["compliance_30d"] == pytest.approx(0.4)
    assert sorted(
        (i["slo"], i["severity"], i["opened_at"][11:16]) for i in ops["open_incidents"]
    ) == [
        ("availability", "fast", "10:05"),
        ("availability", "slow", "10:05"),
        ("metrics_freshness", "fast", "10:02"),
        ("metrics_freshness", "slow", "10:02"),
    ]
    assert ops["last_hour"] == {
        "until": "2026-11-26T10:09:00+00:00",
        "requests": 182,
        "error_rate": pytest.approx(2 / 182),
        # (180 x 4 ms + 2 x 300 ms) / 182
        "latency_mean_ms": pytest.approx((180 * 4 + 2 * 300) / 182),
        "ingested_rows": None,
        "ingested_bytes": None,
        "quarantined_rows": None,
        "model_runs": 1,
        "model_failures": 0,
    }
    assert ops["bus_lag"]["measured"] is False
    assert (ops["bus_lag"]["waiting_events"], ops["bus_lag"]["seconds"]) == (None, None)
    assert "each product that accepts events" in ops["bus_lag"]["why"]
    assert [(t["table_name"], t["age_seconds"]) for t in ops["tables"]] == [(SLO_STATUS, 90.0)]
    assert [(m["model"], m["last_status"]) for m in ops["models"]] == [
        ("operational_metrics.gold.slo_status", "succeeded")
    ]


def test_another_products_ingestion_and_failed_runs(get: Callable[..., Any]) -> None:
    mobile = get("/products/mobile-user-analytics")

    assert (mobile["last_hour"]["ingested_rows"], mobile["last_hour"]["ingested_bytes"]) == (
        50,
        5000,
    )
    assert [(m["failures_in_a_row"], m["last_error"]) for m in mobile["models"]] == [(1, "boom")]
    assert mobile["bus_lag"] == {
        "measured": True,
        "bus": "redis",
        "measured_at": "2026-11-26T10:09:30+00:00",
        "streams": 1,
        "waiting_events": 5,
        "seconds": 12.5,
    }


def test_an_unknown_product_is_404_and_a_malformed_name_422(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    status, _, detail = refused(gateway, admin, "/products/operational-metric")
    assert status == 404 and "Did you mean `operational-metrics`?" in detail
    assert refused(gateway, admin, "/products/Not_A_Name")[:2] == (422, "path.name")


# --- SLOs and incidents -------------------------------------------------------------------------


def test_slos_with_compliance_budget_and_burn_rates(get: Callable[..., Any]) -> None:
    answer = get("/slos", product=OPS)
    availability = next(r for r in answer["rows"] if r["slo"] == "availability")

    assert [r["slo"] for r in answer["rows"]] == [
        "api_latency",
        "availability",
        "metrics_freshness",
    ]
    assert (availability["good_30d"], availability["total_30d"]) == (180, 182)
    assert availability["error_budget_left"] == pytest.approx(1 - 2 / 182 / 0.001)
    # 10:05..10:09 holds both failures among 102 requests; every window reaches back to 10:01.
    assert availability["fast_short_burn"] == pytest.approx(2 / 102 / 0.001)
    assert availability["fast_long_burn"] == pytest.approx(2 / 182 / 0.001)
    assert (availability["status"], availability["open_incidents"]) == ("fast_burn", 2)
    latency = next(r for r in answer["rows"] if r["slo"] == "api_latency")
    assert (latency["latency_bucket_ms"], latency["compliance_30d"]) == (500.0, 1.0)


def test_slos_filter_by_status(get: Callable[..., Any]) -> None:
    burning = get("/slos", product=OPS, status="fast_burn")["rows"]
    ok = get("/slos", product=OPS, status="ok")["rows"]

    assert [r["slo"] for r in burning] == ["availability", "metrics_freshness"]
    assert [r["slo"] for r in ok] == ["api_latency"]


def test_incidents_filter_by_product_severity_and_state(get: Callable[..., Any]) -> None:
    rows = get("/incidents", product=OPS, severity="fast")["rows"]
    resolved = get("/incidents", product=OPS, state="resolved")["rows"]
    before = get("/incidents", product=OPS, to="2026-11-26T10:05:00Z")["rows"]

    # Newest first; open ones have been open until the latest step, 10:09.
    assert [(r["incident_id"], r["state"], r["minutes_open"]) for r in rows] == [
        ("operational-metrics/availability/fast/2026-11-26T10:05Z", "open", 4.0),
        ("operational-metrics/metrics_freshness/fast/2026-11-26T10:02Z", "open", 7.0),
    ]
    assert rows[0]["long_burn_at_open"] == pytest.approx(2 / 102 / 0.001)
    assert rows[1]["long_burn_at_open"] == pytest.approx(1 / 3 / 0.01)
    assert resolved == []
    assert [r["slo"] for r in before] == ["metrics_freshness", "metrics_freshness"]


# --- time series --------------------------------------------------------------------------------


TEN_MINUTES = {"from": "2026-11-26T10:00:00Z", "to": "2026-11-26T10:10:00Z"}


def series(get: Callable[..., Any], metric: str, step: int, product: str = OPS) -> list[Any]:
    answer = get("/timeseries", metric=metric, product=product, step=step, **TEN_MINUTES)
    return [(point["at"][11:16], point["value"]) for point in answer["rows"]]


def test_a_series_per_minute_and_per_five_minutes(get: Callable[..., Any]) -> None:
    assert series(get, "requests", 60) == [
        ("10:00", None),  # the baseline scrape: nothing counted
        ("10:01", 20),
        ("10:02", 20),
        ("10:03", 20),
        ("10:04", 20),
        ("10:05", 22),
        ("10:06", 20),
        ("10:07", 20),
        ("10:08", 20),
        ("10:09", 20),
    ]
    assert series(get, "request_rate", 300) == [("10:00", 80 / 300), ("10:05", 102 / 300)]
    assert series(get, "error_rate", 300) == [("10:00", 0.0), ("10:05", pytest.approx(2 / 102))]
    assert series(get, "ingested_rows", 600, "mobile-user-analytics") == [("10:00", 50)]


def test_the_bus_lag_series_takes_each_steps_worst_minute(get: Callable[..., Any]) -> None:
    mobile = "mobile-user-analytics"

    assert series(get, "bus_lag_events", 300, mobile) == [("10:00", None), ("10:05", 30)]
    assert series(get, "bus_lag_seconds", 300, mobile) == [("10:00", None), ("10:05", 90.0)]
    assert series(get, "bus_lag_events", 60, mobile)[-1] == ("10:09", 5)
    # No bus is measured for operational-metrics: no value, rather than a made-up 0.
    assert series(get, "bus_lag_seconds", 600, OPS) == [("10:00", None)]
    # Every product together: the worst product's worst minute.
    every = get("/timeseries", metric="bus_lag_events", step=600, **TEN_MINUTES)["rows"]
    assert [(point["at"][11:16], point["value"]) for point in every] == [("10:00", 30)]


def test_latency_quantiles_interpolate_within_buckets(get: Callable[..., Any]) -> None:
    # 10:05..10:09: 100 requests within the 5 ms bucket (the first holding any), 2 within 500 ms
    # (200 ms holds 100). p95: rank 96.9 falls in 0..5 ms: 5 x 96.9 / 100 = 4.845 ms. p99: rank
    # 100.98 falls in 200..500 ms: 200 + 300 x 0.98 / 2 = 347 ms.
    p95 = series(get, "latency_p95_ms", 300)
    p99 = series(get, "latency_p99_ms", 300)

    assert p95[1] == ("10:05", pytest.approx(4.845))
    assert p99[1] == ("10:05", pytest.approx(347.0))


@pytest.mark.parametrize(
    ("params", "field", "says"),
    [
        ({"metric": "request_rte"}, "query.metric", "Did you mean `request_rate`?"),
        ({"metric": "bus_lag_second"}, "query.metric", "Did you mean `bus_lag_seconds`?"),
        (
            {"metric": "requests", "from": "2026-11-26T11:00:00Z", "to": "2026-11-26T10:00:00Z"},
            "query.from",
            "is not before `to`",
        ),
        ({"metric": "requests", "step": 30}, "query.step", "greater than or equal to 60"),
        ({"metric": "requests", "step": 90}, "query.step", "whole number of minutes"),
        (
            {
                "metric": "requests",
                "step": 60,
                "from": "2026-11-01T00:00:00Z",
                "to": "2026-11-03T00:00:00Z",
            },
            "query.step",
            "2880 points",
        ),
        (
            {"metric": "requests", "product": "operational-metric"},
            "query.product",
            "Did you mean `operational-metrics`?",
        ),
    ],
)
def test_bad_timeseries_parameters_are_422_naming_the_field(
    gateway: RunningGateway, admin: dict[str, str], params: dict[str, Any], field: str, says: str
) -> None:
    status, named, detail = refused(gateway, admin, "/timeseries", **params)

    assert (status, named) == (422, field)
    assert says in detail


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/slos", {"status": "burning"}, "query.status"),
        ("/slos", {"product": "shop"}, "query.product"),
        ("/incidents", {"severity": "medium"}, "query.severity"),
        ("/incidents", {"from": "2026-11-27", "to": "2026-11-26"}, "query.from"),
        ("/overview", {"limit": 0}, "query.limit"),
    ],
)
def test_bad_filters_are_422_naming_the_field(
    gateway: RunningGateway, admin: dict[str, str], path: str, params: dict[str, Any], field: str
) -> None:
    status, named, _ = refused(gateway, admin, path, **params)

    assert (status, named) == (422, field)


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/overview",
        f"/products/{OPS}",
        "/slos",
        "/incidents",
        "/timeseries?metric=requests",
        "/tables",
    ],
)
def test_every_route_needs_a_credential(gateway: RunningGateway, path: str) -> None:
    assert httpx.get(f"{gateway.url}/ops{path}").status_code == 401


def test_a_viewer_reads_and_a_user_without_a_role_is_refused(gateway: RunningGateway) -> None:
    viewer = gateway.headers_for("vera", ["viewer"])
    nobody = gateway.headers_for("noel", [])

    assert httpx.get(f"{gateway.url}/ops/overview", headers=viewer).status_code == 200
    assert httpx.get(f"{gateway.url}/ops/overview", headers=nobody).status_code == 403
