"""What user-segmentation keeps: its tables, named `<layer>.<table>` within the product.

Schemas of silver and gold tables come from the models that write them; bronze tables hold the
canonical event envelope.
"""

from dataplatform.core.product import Table

TABLES = (
    Table(
        "silver.identity_graph",
        "Links between user ids, anonymous ids and devices that belong to one person.",
        pii=("user_id", "anonymous_id"),
        retention_days=395,
    ),
    Table(
        "gold.user_features",
        "Per person: recency, frequency, monetary value, platforms and engagement features.",
        pii=("person_id",),
    ),
    Table(
        "gold.segments",
        "Segment definitions: rule-based and ML, with size and last refresh.",
    ),
    Table(
        "gold.segment_membership",
        "Which person belongs to which segment, since when.",
        pii=("person_id",),
    ),
)
