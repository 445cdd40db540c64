"""What operational-metrics keeps: its tables, named `<layer>.<table>` within the product.

Schemas of silver and gold tables come from the models that write them; bronze tables hold the
canonical event envelope.
"""

from dataplatform.core.product import Table

TABLES = (
    Table(
        "gold.product_volumes",
        "Events and rows per product, table and minute.",
    ),
    Table(
        "gold.pipeline_lag",
        "Lag from bronze to gold per product, per minute.",
    ),
    Table(
        "gold.table_freshness",
        "Age of the newest data in every product table.",
    ),
    Table(
        "gold.slo_status",
        "Per SLO: attainment, remaining error budget and burn rate.",
    ),
)
