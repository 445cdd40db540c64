"""Prometheus metrics shared by every service of the platform."""

from prometheus_client import Counter, Histogram

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
