"""What operational-metrics keeps: its tables, named `<layer>.<table>` within the product.

Schemas come from the models that write them (their headers describe every column). Nothing here
is personal data: routes are templates (`/mobile/users/{user_id}/summary`), never paths with ids.
Times are UTC; per-minute series are keyed by the minute's start.
"""

from dataplatform.core.product import Table

TABLES = (
    Table(
        "silver.metric_samples",
        "The gateway's request counters and latency histograms as the platform scrapes them, "
        "each with the product its route belongs to (or platform).",
    ),
    Table(
        "silver.counter_increases",
        "How much each request counter and latency series grew since the previous scrape, "
        "across gateway restarts.",
    ),
    Table(
        "silver.table_observations",
        "Each table's version, rows, bytes and commit time whenever the platform saw it change.",
    ),
    Table(
        "silver.model_runs",
        "Every finished model run of every product: status, duration, rows, checks, error.",
    ),
    Table(
        "silver.bus_lag",
        "Events waiting on the bus between the collector and bronze, per product stream, each "
        "time the platform measured it.",
    ),
    Table(
        "gold.api_traffic",
        "API requests per product and minute: requests, 5xx and 4xx answers, latency histogram.",
    ),
    Table(
        "gold.table_volumes",
        "Rows and bytes each table gained per minute (bronze: ingestion; quarantine: set aside).",
    ),
    Table(
        "gold.table_freshness",
        "Every table's latest version, rows, bytes, last commit and its age, and how far it "
        "trails its product's newest bronze commit.",
    ),
    Table(
        "gold.product_freshness",
        "Per product and minute: newest bronze and gold commits, gold age, bronze-to-gold lag.",
    ),
    Table(
        "gold.bus_lag",
        "Per product and minute: events waiting on the bus over its streams and the oldest "
        "one's age, as of the minute's last measurement.",
    ),
    Table(
        "gold.model_activity",
        "Model runs per product and minute: runs, failures, durations, rows, quarantined rows, "
        "failed checks.",
    ),
    Table(
        "gold.model_status",
        "Every model's latest run, last success and failure, and failures in a row.",
    ),
    Table(
        "gold.slo_minutes",
        "Every SLO evaluated each minute: good and total events, burn rates of the fast and "
        "slow alerts' windows, whether they fire.",
    ),
    Table(
        "gold.slo_status",
        "Every SLO now: compliance over 1 h, 24 h and 30 d, error budget left, burn rates.",
    ),
    Table(
        "gold.incidents",
        "Burn-rate incidents (fast, slow) of every SLO: opened, resolved, burn rates seen.",
    ),
)
