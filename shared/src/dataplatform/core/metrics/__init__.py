"""Prometheus metrics shared by every service of the platform."""

import time
from collections.abc import Iterable
from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram

OPERATION_SECONDS = Histogram(
    "dataplatform_operation_duration_seconds",
    "Duration of operations wrapped in @measure_performance.",
    ["operation", "outcome"],
)

SERVED_FILES = Counter(
    "dataplatform_serving_files_read_total",
    "Data files API queries gave DuckDB to read, after partition and statistics pruning.",
    ["table"],
)
SERVED_ANSWERS = Counter(
    "dataplatform_serving_answers_total",
    "API query answers, by whether the answer cache held them (`hit`) or files were read (`miss`).",
    ["outcome"],
)
# The gateway's request-duration buckets; an SLO's latency threshold is judged at the largest
# bucket at or below it (by the generated Prometheus rules and by operational-metrics alike).
HTTP_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10)
MODEL_RUNS = Counter(
    "dataplatform_model_runs_total",
    "Model runs finished by a product's runner, by model and status (succeeded, failed, "
    "up_to_date, waiting, skipped).",
    ["product", "model", "layer", "status"],
)
MODEL_CAUGHT_UP = Gauge(
    "dataplatform_model_caught_up_timestamp_seconds",
    "When each model last finished a run that left it caught up with its inputs (Unix "
    "seconds): the product's freshness is the age of its oldest gold model's.",
    ["product", "model", "layer"],
)
# A run that leaves rows for the next pass (`stopped_short`) has not caught up.
_CAUGHT_UP = ("succeeded", "up_to_date")


class _Run(Protocol):
    @property
    def model(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def stopped_short(self) -> bool: ...


def observe_model_runs(product: str, runs: Iterable[_Run]) -> None:
    """Count a runner's finished runs and stamp the models they left caught up."""
    now = time.time()
    for run in runs:
        layer = run.model.split(".")[-2]
        MODEL_RUNS.labels(product, run.model, layer, run.status).inc()
        if run.status in _CAUGHT_UP and not run.stopped_short:
            MODEL_CAUGHT_UP.labels(product, run.model, layer).set(now)
