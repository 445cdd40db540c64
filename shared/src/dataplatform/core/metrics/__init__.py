"""Prometheus metrics shared by every service of the platform."""

from prometheus_client import Histogram

OPERATION_SECONDS = Histogram(
    "dataplatform_operation_duration_seconds",
    "Duration of operations wrapped in @measure_performance.",
    ["operation", "outcome"],
)
