"""The product's own health: how long ago the SLOs were last evaluated, on a real lake."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.monitoring import HealthContext, HealthStatus
from operational_metrics.monitoring.current import evaluation_age
from operational_metrics.product import product

EVALUATIONS = product.context().table("gold.slo_minutes")


def test_nothing_evaluated_yet_is_well(lake: Lakehouse) -> None:
    context = HealthContext.extending(product.context(), lake=lake)

    assert evaluation_age(context, datetime.now(UTC)) == (
        HealthStatus.OK,
        "no SLO evaluated yet: waiting for the platform's first metrics",
    )


def test_evaluations_older_than_the_freshness_objective_degrade(lake: Lakehouse) -> None:
    lake.append(EVALUATIONS, pa.table({"minute": [datetime(2026, 11, 26, 10, 0, tzinfo=UTC)]}))
    committed = datetime.fromtimestamp(lake.history(EVALUATIONS, 1)[0]["timestamp"] / 1000, UTC)
    context = HealthContext.extending(product.context(), lake=lake)

    # The objective is metrics_freshness' threshold in the product's config: 120 s.
    assert evaluation_age(context, committed + timedelta(seconds=30)) == (
        HealthStatus.OK,
        "SLOs last evaluated 30 s ago (objective: 120 s)",
    )
    assert evaluation_age(context, committed + timedelta(seconds=200)) == (
        HealthStatus.DEGRADED,
        "SLOs last evaluated 200 s ago (objective: 120 s)",
    )


def test_the_check_reads_the_table_its_context_names(lake: Lakehouse) -> None:
    # A context under another name (a second deployment of the product): its tables, not the
    # product's default ones, are the ones judged.
    renamed = dataclasses.replace(
        product.context(), name="ops-staging", tables=("ops_staging.gold.slo_minutes",)
    )
    lake.append(
        "ops_staging.gold.slo_minutes",
        pa.table({"minute": [datetime(2026, 11, 26, 10, 0, tzinfo=UTC)]}),
    )
    committed = datetime.fromtimestamp(
        lake.history("ops_staging.gold.slo_minutes", 1)[0]["timestamp"] / 1000, UTC
    )
    context = HealthContext.extending(renamed, lake=lake)

    assert evaluation_age(context, committed + timedelta(seconds=30)) == (
        HealthStatus.OK,
        "SLOs last evaluated 30 s ago (objective: 120 s)",
    )
