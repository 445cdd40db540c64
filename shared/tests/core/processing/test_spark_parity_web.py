"""web-user-analytics' own models give the same rows on Spark (local mode) as on DuckDB, over a
small world in the product's tests' image: both wire formats, campaigns, a retried event, a bot,
identify calls, a purchase, days that differ between UTC and the reporting timezone (Paris),
and a late delivery that reshapes what the first tick wrote."""

import itertools
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

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.platform.collector import from_posthog, from_segment
from web_user_analytics.product import product

# The module's fixture runs every model on both engines, in the first test's time limit.
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1200)]

BRONZE = "web_user_analytics.bronze.clickstream"
SITE = "https://shop.example.com"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
_ids = itertools.count(1)


def at(clock: str, day: int = 20) -> datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def page(browser: str, when: datetime, path: str, query: str = "", **extra: Any) -> dict[str, Any]:
    url = f"{SITE}{path}{'?' + query if query else ''}"
    context = {"page": {"url": url, "path": path, "referrer": extra.pop("referrer", "")}}
    return segment("page", browser, when, name=path, context=context, **extra)


def segment(kind: str, browser: str, when: datetime, **fields: Any) -> dict[str, Any]:
    user_agent = fields.pop("user_agent", FIREFOX)
    context = {"userAgent": user_agent, **fields.pop("context", {})}
    message_id = fields.pop("message_id", None) or f"m-{next(_ids)}"
    return {
        "type": kind,
        "anonymousId": browser,
        "messageId": message_id,
        "timestamp": when.isoformat(),
        "context": context,
        **fields,
    }


def posthog_pageview(browser: str, when: datetime, path: str) -> dict[str, Any]:
    return {
        "event": "$pageview",
        "distinct_id": browser,
        "uuid": f"m-{next(_ids)}",
        "timestamp": when.isoformat(),
        "properties": {
            "$current_url": f"{SITE}{path}",
            "$pathname": path,
            "$referrer": "https://www.facebook.com/",
            "$device_id": browser,
            "utm_source": "fb",
        },
    }


retried = page("retries", at("13:00"), "/", message_id="sent-twice")
FIRST_DELIVERY = [
    page("midnight", at("22:50"), "/"),  # 23:50 in Paris: the same Paris day as 22:55
    page("midnight", at("23:05"), "/cart"),  # 00:05 in Paris, the next day: a new session
    page("campaign", at("12:00"), "/", "utm_source=news&utm_medium=email&utm_campaign=weekly"),
    page("campaign", at("12:05"), "/products/a"),
    page("campaign", at("12:10"), "/", "gclid=abc", referrer="https://www.google.com/"),
    retried,
    retried,
    page("bot", at("15:00"), "/", user_agent=GOOGLEBOT),
    page("buyer", at("16:00"), "/"),
    segment("identify", "buyer", at("16:01"), userId="u-1", traits={"plan": "member"}),
    segment("track", "buyer", at("16:03"), event="purchase", properties={"revenue": 10.5}),
    segment("track", "buyer", at("16:04"), event="click", properties={"currency": "eur"}),
    page("late", at("14:00"), "/"),
    page("late", at("14:50"), "/b"),
    posthog_pageview("ph", at("10:00"), "/"),
]
LATE_DELIVERY = [page("late", at("14:25"), "/a"), page("buyer", at("09:00", day=21), "/")]


def to_bronze(lake: Lakehouse, items: list[dict[str, Any]], delay: timedelta) -> None:
    rows = []
    for item in items:
        normalise = from_posthog if "distinct_id" in item else from_segment
        received = datetime.fromisoformat(item["timestamp"]) + delay
        rows.append(normalise(item, received_at=received, source_id="website"))
    lake.append(BRONZE, pa.Table.from_pylist(rows, ENVELOPE_SCHEMA))


def world(lake: Lakehouse) -> Iterator[None]:
    """Both deliveries, the late one a day after its events, a tick after each."""
    for items, delay in (
        (FIRST_DELIVERY, timedelta(seconds=1)),
        (LATE_DELIVERY, timedelta(days=1)),
    ):
        to_bronze(lake, items, delay)
        yield


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Lakehouse]]:
    with pytest.MonkeyPatch.context() as settings:
        settings.setenv("DATAPLATFORM_WEB_USER_ANALYTICS_REPORTING_TIMEZONE", "Europe/Paris")
        yield from lakes_on_both_engines(tmp_path_factory, product.model_graph(), world)


@pytest.mark.parametrize("table", sql_models(product.model_graph()))
def test_spark_writes_what_duckdb_writes(lakes: dict[str, Lakehouse], table: str) -> None:
    assert_spark_writes_what_duckdb_writes(lakes, table)
