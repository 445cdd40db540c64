"""Whether the ML segments keep up: the latest model should be no older than two retraining
intervals, unless the features have not changed since it was trained (then there was nothing
to retrain on)."""

import json
from datetime import UTC, datetime
from typing import Any

from dataplatform.core.monitoring import HealthCheck, HealthContext, HealthStatus
from user_segmentation.settings import UserSegmentationSettings


def model_age_at(
    context: HealthContext[Any], now: datetime, interval_seconds: float
) -> tuple[HealthStatus, str]:
    lake = context.lake
    features = context.table("gold.user_features")
    ml_models = context.table("gold.ml_models")
    if not lake.exists(features):
        return HealthStatus.OK, "no features yet: nothing to train on"
    models = lake.read(ml_models).to_pylist() if lake.exists(ml_models) else []
    if not models:
        return HealthStatus.OK, "no model trained yet (the job trains once people have features)"
    latest = max(models, key=lambda row: row["version"])
    age = (now - latest["trained_at"]).total_seconds()
    trained_on = json.loads(latest["input_versions"]).get(features)
    detail = f"model version {latest['version']} trained {age:.0f} s ago"
    if trained_on == lake.version(features) or age <= 2 * interval_seconds:
        return HealthStatus.OK, detail
    return HealthStatus.DEGRADED, (
        f"{detail} and the features changed since; retraining runs every "
        f"{interval_seconds:.0f} s (is the product's jobs process running?)"
    )


def _model_age(
    context: HealthContext[UserSegmentationSettings],
) -> tuple[HealthStatus, str]:
    return model_age_at(context, datetime.now(UTC), context.settings.retrain_every_seconds)


model_age = HealthCheck("model_age", _model_age)
