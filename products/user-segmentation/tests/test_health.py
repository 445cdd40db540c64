"""The product's health checks: tables behind their inputs, and a model left untrained."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from dataplatform.core.monitoring import HealthContext, HealthStatus
from user_segmentation.ml import train
from user_segmentation.monitoring.freshness import lags
from user_segmentation.monitoring.training import model_age_at
from user_segmentation.product import product


def context(pipeline: Any) -> HealthContext:
    return HealthContext.extending(product.context(), lake=pipeline.lake)


def test_a_table_is_stale_from_the_input_commit_it_has_not_taken_in(
    pipeline: Any, kit: SimpleNamespace
) -> None:
    kit.publish_world(pipeline)
    pipeline.run()
    caught_up = lags(context(pipeline), datetime.now(UTC))

    pipeline.publish(kit.SESSION_EVENTS, kit.SESSION_EVENT_ROWS[:2])  # not run yet
    soon = lags(context(pipeline), datetime.now(UTC) + timedelta(seconds=10))
    late = lags(context(pipeline), datetime.now(UTC) + timedelta(seconds=120))

    assert caught_up == (HealthStatus.OK, "every table has taken in its inputs' latest commits")
    assert soon[0] is HealthStatus.OK  # behind, within the 60 s objective
    assert late[0] is HealthStatus.DEGRADED
    assert "silver.person_activity 120 s behind web_user_analytics.gold.session_events" in late[1]
    assert late[1].endswith("(objective: 60 s)")


def test_a_model_older_than_two_intervals_degrades_once_the_features_changed(
    pipeline: Any, kit: SimpleNamespace
) -> None:
    kit.publish_world(pipeline)
    pipeline.run()
    assert model_age_at(context(pipeline), datetime.now(UTC), 3600)[0] is HealthStatus.OK
    settings = product.settings().model_copy(update={"max_clusters": 3})
    train(pipeline.lake, product.context(settings), "test")
    hours_later = datetime.now(UTC) + timedelta(hours=3)

    unchanged = model_age_at(context(pipeline), hours_later, 3600)
    pipeline.publish(kit.SESSION_EVENTS, kit.SESSION_EVENT_ROWS[:2])
    pipeline.run()
    changed = model_age_at(context(pipeline), hours_later, 3600)

    assert unchanged[0] is HealthStatus.OK  # nothing new to train on
    assert changed[0] is HealthStatus.DEGRADED
    assert "the features changed since; retraining runs every 3600 s" in changed[1]
