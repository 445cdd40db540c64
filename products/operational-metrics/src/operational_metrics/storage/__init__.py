"""What operational-metrics keeps: nothing beside what its models write.

Every table is a model's, described by the model's header (description, columns, tags). Nothing
here is personal data: routes are templates (`/mobile/users/{user_id}/summary`), never paths with
ids. Times are UTC; per-minute series are keyed by the minute's start.
"""

from dataplatform.core.product import Table

TABLES: tuple[Table, ...] = ()
