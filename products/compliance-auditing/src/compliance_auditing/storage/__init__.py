"""What compliance-auditing keeps: its tables, named `<layer>.<table>` within the product.

Schemas of silver and gold tables come from the models that write them; bronze tables hold the
canonical event envelope.
"""

from dataplatform.core.product import Table

TABLES = (
    Table(
        "gold.access_report",
        "Who read which table and column, when, with which permission.",
        pii=("principal",),
        retention_days=2555,
    ),
    Table(
        "gold.erasure_requests",
        "Right-to-erasure requests: subject, status, tables touched, completion time.",
        pii=("subject_id",),
        retention_days=2555,
    ),
    Table(
        "gold.retention_status",
        "Per table: retention policy, oldest row, rows due for deletion.",
    ),
)
