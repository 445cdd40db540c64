"""Whether the operational metrics are current: how long ago the SLOs were last evaluated.

The models commit only when the platform published something new, so a quiet evaluation means
the platform's jobs process, or this product's models, stopped. Being late degrades the product;
it never fails /ready, since the API still answers from the tables it has.
"""

from datetime import UTC, datetime

from dataplatform.core.config import ProductSettings
from dataplatform.core.monitoring import HealthCheck, HealthContext, HealthStatus
from operational_metrics.settings import OperationalMetricsSettings


def evaluation_age(
    context: HealthContext[OperationalMetricsSettings], now: datetime
) -> tuple[HealthStatus, str]:
    """Seconds since `gold.slo_minutes` was last committed, judged against the product's
    tightest freshness SLO."""
    evaluations = context.table("gold.slo_minutes")
    if not context.lake.exists(evaluations):
        return HealthStatus.OK, "no SLO evaluated yet: waiting for the platform's first metrics"
    committed_ms = context.lake.history(evaluations, limit=1)[0]["timestamp"]
    age = (now - datetime.fromtimestamp(committed_ms / 1000, UTC)).total_seconds()
    detail = f"SLOs last evaluated {age:.0f} s ago"
    objective = _freshness_objective_seconds(context.settings)
    if objective is None:  # an admin may have stored SLOs without one
        return HealthStatus.OK, f"{detail} (no freshness_seconds SLO to judge against)"
    status = HealthStatus.DEGRADED if age > objective else HealthStatus.OK
    return status, f"{detail} (objective: {objective:.0f} s)"


def _freshness_objective_seconds(settings: ProductSettings) -> float | None:
    thresholds = [slo.threshold for slo in settings.slos if slo.indicator == "freshness_seconds"]
    return min(thresholds, default=None)


evaluations_current = HealthCheck(
    "evaluations_current", lambda context: evaluation_age(context, datetime.now(UTC))
)
