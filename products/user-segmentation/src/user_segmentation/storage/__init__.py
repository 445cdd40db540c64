"""What user-segmentation keeps: the tables no model writes, and how long tables are kept.

Models write the identity graph, the features and the membership, described by their headers
(description, columns, PII tags). The product writes three tables itself, with the schemas below: the rule segments'
definitions (through the API) and the ML models and assignments (by training). A person is
`person_id` everywhere: the smallest user id of their identity graph component, or the
anonymous id of someone never identified.
"""

from typing import Any

import pyarrow as pa

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.product import Table
from dataplatform.core.product_context import ProductContext

_TIME = pa.timestamp("us", tz="UTC")
SEGMENT_DEFINITIONS_SCHEMA = pa.schema(
    [
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("description", pa.string()),
        pa.field("definition", pa.string(), nullable=False),  # JSON: the filter, as validated
        pa.field("version", pa.int64(), nullable=False),  # 1, then +1 on every change
        pa.field("created_by", pa.string(), nullable=False),
        pa.field("created_at", _TIME, nullable=False),
        pa.field("updated_by", pa.string(), nullable=False),
        pa.field("updated_at", _TIME, nullable=False),
        pa.field("deleted_at", _TIME),  # kept after deletion: its changes still refer to it
    ]
)
ML_MODELS_SCHEMA = pa.schema(
    [
        pa.field("version", pa.int64(), nullable=False),
        pa.field("trained_at", _TIME, nullable=False),
        pa.field("trigger", pa.string(), nullable=False),  # schedule, or api:<caller>
        pa.field("people", pa.int64(), nullable=False),
        pa.field("k", pa.int64(), nullable=False),
        pa.field("silhouette", pa.float64(), nullable=False),
        pa.field("parameters", pa.string(), nullable=False),  # JSON
        pa.field("centroids", pa.string(), nullable=False),  # JSON: segment_id -> feature -> value
        pa.field("sizes", pa.string(), nullable=False),  # JSON: segment_id -> people
        pa.field("input_versions", pa.string(), nullable=False),  # JSON: table -> version
    ]
)
ML_ASSIGNMENTS_SCHEMA = pa.schema(
    [
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("model_version", pa.int64(), nullable=False),
    ]
)

TABLES = (
    Table(
        "gold.segment_definitions",
        "Rule segments: name and filter over the features, versioned, created and changed "
        "through the API; deleted ones are kept with deleted_at.",
        schema=SEGMENT_DEFINITIONS_SCHEMA,
    ),
    Table(
        "gold.ml_models",
        "Every clustering model version: k, silhouette, parameters, centroids, sizes and the "
        "input table versions it was trained on.",
        schema=ML_MODELS_SCHEMA,
    ),
    Table(
        "gold.ml_assignments",
        "The ML segment of each person under the latest model version.",
        schema=ML_ASSIGNMENTS_SCHEMA,
        pii=("person_id",),
    ),
)

# Who is linked to whom is kept 13 months, as the mobile and web links it comes from.
MODEL_RETENTION_DAYS = {table: 395 for table in ("silver.identity_links", "silver.identity_graph")}


def ensure_written_tables(lake: Lakehouse, context: ProductContext[Any]) -> None:
    """Create the tables the product writes itself (`TABLES`, named by `context`), empty, where
    they do not exist yet: queries over them then read no rows instead of nothing at all."""
    for table in TABLES:
        name = context.table(table.name)
        # Every table above declares its schema; the check only tells the type checker so.
        if table.schema is not None and not lake.exists(name):
            # An empty append: safe when two processes create the table at once (one retries).
            lake.append(name, table.schema.empty_table())
