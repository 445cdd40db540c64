"""The product's health checks on a real lake: lag, freshness and the quarantine rate."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from dataplatform.core.events import QUARANTINE_SCHEMA
from dataplatform.core.monitoring import HealthContext, HealthStatus
from mobile_user_analytics.monitoring.lag import gold_lag, table_lags
from mobile_user_analytics.monitoring.quarantine import quarantine_rate_at
from mobile_user_analytics.product import product

BRONZE = "mobile_user_analytics.bronze.app_events"
REFUSED = "mobile_user_analytics.quarantine.app_events"  # the collector's, for the stream


def context_of(pipeline: Any) -> HealthContext:
    return HealthContext.extending(
        product.context(), lake=pipeline.lake, inputs_read=pipeline.runner.runs.read_up_to
    )


def test_lag_grows_while_events_wait_and_clears_once_the_models_ran(
    new_pipeline: Callable[..., Any], app_event: Callable[..., Any]
) -> None:
    pipeline = new_pipeline()
    context = context_of(pipeline)
    # Taken now, not at import: the lag is measured against the commits' real times.
    now = datetime.now(UTC)
    pipeline.send([app_event("e1", now - timedelta(minutes=5))])

    # Nothing ran yet: every silver and gold table waits for bronze.
    status, detail = gold_lag(context, now + timedelta(minutes=2))
    assert status is HealthStatus.DEGRADED and "behind bronze (objective: 60 s)" in detail

    pipeline.run()
    assert gold_lag(context, now + timedelta(minutes=2)) == (
        HealthStatus.OK,
        "every gold table has taken in every bronze commit",
    )
    assert table_lags(context, now + timedelta(minutes=2))[0] is HealthStatus.OK

    pipeline.send([app_event("e2", now - timedelta(minutes=1))])
    committed = datetime.fromtimestamp(pipeline.lake.history(BRONZE, 1)[0]["timestamp"] / 1000, UTC)
    two_minutes_on = committed + timedelta(minutes=2)

    # The new bronze commit has waited two minutes for silver, and so for every gold table; gold
    # is not behind silver, which did not change: freshness points at the stuck step.
    assert gold_lag(context, two_minutes_on)[0] is HealthStatus.DEGRADED
    status, detail = table_lags(context, two_minutes_on)
    assert status is HealthStatus.DEGRADED
    # (Both silver tables read bronze itself.)
    assert detail == (
        "silver.person_properties 120 s behind bronze.app_events; "
        "silver.app_events 120 s behind bronze.app_events (objective: 60 s)"
    )
    # Seconds after the commit, within the objective, it is no more than a run's delay.
    assert gold_lag(context, committed + timedelta(seconds=5))[0] is HealthStatus.OK

    pipeline.run()
    assert gold_lag(context, two_minutes_on)[0] is HealthStatus.OK
    assert table_lags(context, two_minutes_on)[0] is HealthStatus.OK


def refused(count: int, received_at: datetime) -> pa.Table:
    row = {
        "received_at": received_at,
        "source_id": "ios-app",
        "wire_format": "segment",
        "batch_index": 0,
        "field": "type",
        "reason": "unknown type",
        "raw": "{}",
    }
    return pa.Table.from_pylist([row] * count, QUARANTINE_SCHEMA)


def test_the_quarantine_rate_is_the_share_of_the_last_days_events_set_aside(
    new_pipeline: Callable[..., Any], app_event: Callable[..., Any]
) -> None:
    pipeline = new_pipeline()
    context = context_of(pipeline)
    now = datetime.now(UTC)
    assert quarantine_rate_at(context, now) == (HealthStatus.OK, "no events in the last 24 h")

    pipeline.send(app_event(f"e{n}", now - timedelta(hours=1)) for n in range(97))
    pipeline.lake.append(REFUSED, refused(3, now - timedelta(hours=1)))
    # Two days old: outside the window, on both sides of the ratio.
    pipeline.send(app_event(f"old{n}", now - timedelta(days=2)) for n in range(50))
    pipeline.lake.append(REFUSED, refused(50, now - timedelta(days=2)))

    status, detail = quarantine_rate_at(context, now)

    assert status is HealthStatus.DEGRADED
    assert detail.startswith("3.00% of the last 24 h's events quarantined (3 refused by the ")
    assert "97 accepted" in detail

    pipeline.send(app_event(f"more{n}", now - timedelta(minutes=1)) for n in range(200))
    status, detail = quarantine_rate_at(context, now)
    assert status is HealthStatus.OK and detail.startswith("1.00% ")  # 3 of 300: not above 1%
