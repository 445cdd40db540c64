"""Reading the product's own tables from a health check."""

from collections.abc import Sequence

import pyarrow as pa

from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.monitoring import HealthContext


def written_rows(
    context: HealthContext[ComplianceAuditingSettings], table: str, columns: Sequence[str]
) -> pa.Table | None:
    """The `columns` of the product's `table` (`gold.x`); None while nothing has written it."""
    name = context.table(table)
    if not context.lake.exists(name):
        return None
    return context.lake.read(name, columns=list(columns))
