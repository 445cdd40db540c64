"""The series `/ops/timeseries` answers: each metric's table, rows and how a step aggregates them.

Every table holds one row per minute (and product, or table); a step of `step` seconds gathers the
minutes starting in it. Counts add up, rates are counts per second of the step, shares are taken
over the step's sums (not averaged), ages take the step's worst minute.
"""

from dataclasses import dataclass

# The product's tables the series come from (`context.table` gives their full names).
API_TRAFFIC = "gold.api_traffic"
BUS_LAG = "gold.bus_lag"
MODEL_ACTIVITY = "gold.model_activity"
PRODUCT_FRESHNESS = "gold.product_freshness"
TABLE_VOLUMES = "gold.table_volumes"


@dataclass(frozen=True)
class Metric:
    """A series: `value` aggregates the rows (matching `rows`) of one step of `table`, one of
    the product's tables (`gold.api_traffic`)."""

    name: str
    unit: str
    description: str
    table: str
    value: str
    rows: str = "true"


_BRONZE = "layer = 'bronze'"
_INTAKE = "layer in ('bronze', 'quarantine')"

METRICS = {
    metric.name: metric
    for metric in (
        Metric("requests", "requests", "API requests answered.", API_TRAFFIC, "sum(requests)"),
        Metric(
            "request_rate",
            "requests/s",
            "API requests answered per second.",
            API_TRAFFIC,
            "sum(requests) / any_value(step_seconds)",
        ),
        Metric(
            "server_errors",
            "requests",
            "API answers with a 5xx status.",
            API_TRAFFIC,
            "sum(server_errors)",
        ),
        Metric(
            "error_rate",
            "share",
            "Share of API answers with a 5xx status.",
            API_TRAFFIC,
            "sum(server_errors) / nullif(sum(requests), 0)",
        ),
        Metric(
            "availability",
            "share",
            "Share of API answers without a 5xx status.",
            API_TRAFFIC,
            "1 - sum(server_errors) / nullif(sum(requests), 0)",
        ),
        Metric(
            "client_errors",
            "requests",
            "API answers with a 4xx status.",
            API_TRAFFIC,
            "sum(client_errors)",
        ),
        Metric(
            "latency_mean_ms",
            "ms",
            "Mean time to answer an API request.",
            API_TRAFFIC,
            "1000 * sum(latency_sum_seconds) / nullif(sum(latency_count), 0)",
        ),
        Metric(
            "ingested_rows",
            "rows",
            "Rows added to bronze tables.",
            TABLE_VOLUMES,
            "sum(rows_added)",
            _BRONZE,
        ),
        Metric(
            "ingestion_rate",
            "rows/s",
            "Rows added to bronze tables per second.",
            TABLE_VOLUMES,
            "sum(rows_added) / any_value(step_seconds)",
            _BRONZE,
        ),
        Metric(
            "ingested_bytes",
            "bytes",
            "Bytes added to bronze tables.",
            TABLE_VOLUMES,
            "sum(bytes_added)",
            _BRONZE,
        ),
        Metric(
            "ingestion_bytes_rate",
            "bytes/s",
            "Bytes added to bronze tables per second.",
            TABLE_VOLUMES,
            "sum(bytes_added) / any_value(step_seconds)",
            _BRONZE,
        ),
        Metric(
            "quarantined_rows",
            "rows",
            "Rows added to quarantine tables (refused by the collector or by model checks).",
            TABLE_VOLUMES,
            "sum(rows_added) filter (where layer = 'quarantine')",
            _INTAKE,
        ),
        Metric(
            "quarantine_rate",
            "share",
            "Quarantined rows / (quarantined + bronze rows added).",
            TABLE_VOLUMES,
            "sum(rows_added) filter (where layer = 'quarantine') / nullif(sum(rows_added), 0)",
            _INTAKE,
        ),
        Metric(
            "gold_age_seconds",
            "s",
            "Age of the newest gold commit (the step's worst minute).",
            PRODUCT_FRESHNESS,
            "max(gold_age_seconds)",
        ),
        Metric(
            "bronze_to_gold_lag_seconds",
            "s",
            "How far the newest gold commit trails the newest bronze one (the step's worst minute).",
            PRODUCT_FRESHNESS,
            "max(bronze_to_gold_lag_seconds)",
        ),
        Metric(
            "bus_lag_events",
            "events",
            "Events waiting on the bus between the collector and bronze (the step's worst "
            "minute; with no product named, the product with the most).",
            BUS_LAG,
            "max(waiting_events)",
        ),
        Metric(
            "bus_lag_seconds",
            "s",
            "How long the oldest event waiting on the bus had waited (the step's worst minute).",
            BUS_LAG,
            "max(oldest_waiting_seconds)",
        ),
        Metric("model_runs", "runs", "Model runs finished.", MODEL_ACTIVITY, "sum(runs)"),
        Metric("model_failures", "runs", "Model runs failed.", MODEL_ACTIVITY, "sum(failures)"),
        Metric(
            "model_duration_ms",
            "ms",
            "Mean duration of a model run.",
            MODEL_ACTIVITY,
            "sum(duration_ms_sum) / nullif(sum(runs), 0)",
        ),
        Metric(
            "model_duration_max_ms",
            "ms",
            "Longest model run.",
            MODEL_ACTIVITY,
            "max(duration_ms_max)",
        ),
        Metric(
            "checks_failed",
            "checks",
            "Quality checks failed by model runs.",
            MODEL_ACTIVITY,
            "sum(checks_failed)",
        ),
        Metric(
            "rows_quarantined_by_checks",
            "rows",
            "Rows set aside by failing model checks.",
            MODEL_ACTIVITY,
            "sum(rows_quarantined)",
        ),
    )
}

# Latency quantiles interpolate within the summed cumulative buckets, as Prometheus'
# histogram_quantile does; a rank past the last finite bucket answers that bucket's bound.
# Buckets no request fell in are not stored, so the first bucket holding requests interpolates
# from 0.
QUANTILES = {"latency_p50_ms": 0.5, "latency_p95_ms": 0.95, "latency_p99_ms": 0.99}


def names() -> list[str]:
    """Every metric's name, quantiles included."""
    return sorted([*METRICS, *QUANTILES])
