"""The product's pages in the admin console: each product's status (also on the console's
overview), the SLOs with their error budgets and burn rates, incidents, and the series behind
them, each chart drawn from one of the product's own routes; and the alerts sent, with silences."""

from collections.abc import Sequence

from dataplatform.core.access import product_permission
from dataplatform.core.console import Answer, Chart, ConsolePage, Field, Form
from dataplatform.core.product_context import ProductContext
from operational_metrics.settings import OperationalMetricsSettings

READ = product_permission("operational-metrics", "read")
WRITE = product_permission("operational-metrics", "write")
# The series page: what a person on call looks at first, each over the last hour.
SERIES = (
    ("Requests per minute", "requests"),
    ("Server error rate", "error_rate"),
    ("Latency p95 (ms)", "latency_p95_ms"),
    ("Events ingested per minute", "ingested_rows"),
    ("Rows quarantined per minute", "quarantined_rows"),
    ("Gold age (s)", "gold_age_seconds"),
)


def console_pages(context: ProductContext[OperationalMetricsSettings]) -> Sequence[ConsolePage]:
    return (
        ConsolePage(
            "status",
            "Status of every product",
            READ,
            description="Each product's status, SLOs, open incidents, freshness and bus lag, "
            "as of the latest evaluation; and the events refused at the door or quarantined by "
            "a model's checks.",
            on_overview=True,
            charts=(
                Chart(
                    "Products",
                    "/overview",
                    x="product",
                    series=(
                        "status",
                        "slos_ok",
                        "slos",
                        "slos_failing",
                        "open_incidents",
                        "lowest_error_budget_left",
                        "error_rate_1h",
                        "gold_age_seconds",
                        "bus_lag_events",
                    ),
                    kind="table",
                    link="/console/products/{product}",
                ),
                Chart(
                    "Rows refused or quarantined per minute, the last hour",
                    "/timeseries?metric=quarantined_rows",
                    x="at",
                    series=("value",),
                    kind="bar",
                ),
            ),
        ),
        ConsolePage(
            "slos",
            "SLOs and error budgets",
            READ,
            description="Compliance over 1 h, 24 h and 30 days, the error budget left and the "
            "burn rates that open incidents.",
            charts=(
                Chart(
                    "Error budget left",
                    "/slos",
                    x="slo",
                    series=("error_budget_left",),
                    kind="bar",
                ),
                Chart(
                    "SLOs",
                    "/slos",
                    x="slo",
                    series=(
                        "product",
                        "status",
                        "target",
                        "compliance_1h",
                        "compliance_24h",
                        "compliance_30d",
                        "error_budget_left",
                        "fast_long_burn",
                        "fast_short_burn",
                        "slow_long_burn",
                        "slow_short_burn",
                        "open_incidents",
                    ),
                    kind="table",
                ),
            ),
        ),
        ConsolePage(
            "incidents",
            "Incidents",
            READ,
            description="Burn-rate incidents, newest first: open ones and those resolved.",
            forms=(
                Form(
                    "Find incidents",
                    "/incidents",
                    "GET",
                    fields=(
                        Field("product", "Product", required=False),
                        Field(
                            "state", "State", "select", options=("open", "resolved"), required=False
                        ),
                    ),
                    submit="Find",
                ),
            ),
            charts=(
                Chart(
                    "Incidents",
                    "/incidents",
                    x="incident_id",
                    series=(
                        "product",
                        "slo",
                        "severity",
                        "state",
                        "opened_at",
                        "resolved_at",
                        "minutes_open",
                        "peak_long_burn",
                    ),
                    kind="table",
                ),
            ),
        ),
        ConsolePage(
            "tables",
            "Table freshness and volumes",
            READ,
            description="A product's tables: rows, bytes, the age of the last write and how far "
            "each is behind bronze; and its models' last runs.",
            forms=(
                Form(
                    "Tables of a product",
                    "/products/{name}",
                    "GET",
                    fields=(Field("name", "Product", value="web-user-analytics"),),
                    submit="Show",
                    answer=Answer(
                        "table_name",
                        (
                            "layer",
                            "row_count",
                            "size_bytes",
                            "age_seconds",
                            "behind_bronze_seconds",
                            "last_modified",
                        ),
                        rows="tables",
                    ),
                ),
            ),
            charts=(
                Chart(
                    "Rows ingested per minute",
                    "/timeseries?metric=ingested_rows",
                    x="at",
                    series=("value",),
                    kind="bar",
                ),
                Chart(
                    "Bronze to gold lag (s)",
                    "/timeseries?metric=bronze_to_gold_lag_seconds",
                    x="at",
                    series=("value",),
                ),
            ),
        ),
        ConsolePage(
            "series",
            "Requests, errors, latency and data",
            READ,
            description="The last hour, a point a minute, every product together.",
            charts=tuple(
                Chart(title, f"/timeseries?metric={metric}", x="at", series=("value",))
                for title, metric in SERIES
            ),
        ),
        ConsolePage(
            "alerts",
            "Alerts",
            READ,
            description="Incidents sent to the alert webhooks, and silences.",
            forms=(
                Form(
                    "Deliveries",
                    "/alerts/deliveries",
                    method="GET",
                    fields=(
                        Field(
                            "status",
                            "Status",
                            "select",
                            options=("delivered", "failed", "silenced", "dead"),
                            required=False,
                        ),
                    ),
                    submit="Show",
                    answer=Answer(
                        "last_attempt_at",
                        (
                            "product",
                            "slo",
                            "severity",
                            "event",
                            "destination",
                            "status",
                            "attempts",
                            "http_status",
                            "error",
                        ),
                    ),
                ),
                Form(
                    "Silence alerts",
                    "/alerts/silences",
                    fields=(
                        Field("product", "Product", required=False, help="Empty: every product."),
                        Field("slo", "SLO", required=False, help="Empty: every SLO."),
                        Field("minutes", "Minutes", "number", "60"),
                        Field("comment", "Why"),
                    ),
                    submit="Silence",
                    permission=WRITE,
                ),
                Form(
                    "Silences",
                    "/alerts/silences",
                    method="GET",
                    submit="Show",
                    answer=Answer("ends_at", ("active", "product", "slo", "comment", "created_by")),
                ),
            ),
        ),
    )
