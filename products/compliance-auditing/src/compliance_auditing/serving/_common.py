"""What the product's routes share: the permissions, the tables, and the query parameters."""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Query

from dataplatform.core.access import (
    AUDIT_READ,
    CATALOG_READ,
    Principal,
    product_permission,
    require,
)
from dataplatform.core.bounds import ReportDate
from dataplatform.core.errors import InvalidRequestError

PRODUCT = "compliance-auditing"
NAMESPACE = "compliance_auditing"

# Who may do what (see PRODUCT_README.md): the audit trail and the access reports are for
# holders of audit:read (auditors); lineage for catalog readers, as the platform's own lineage
# is; the product's records for its readers; an erasure for its writers (the governance team,
# role compliance-auditing-owner, and admins), since it deletes in every product.
Auditor = Annotated[Principal, require(AUDIT_READ)]
CatalogReader = Annotated[Principal, require(CATALOG_READ)]
Reader = Annotated[Principal, require(product_permission(PRODUCT, "read"))]
Eraser = Annotated[Principal, require(product_permission(PRODUCT, "write"))]

AUDIT_LOG = "platform.gold.audit_log"
COLUMN_READS = f"{NAMESPACE}.gold.column_reads"
PII_READS = f"{NAMESPACE}.gold.pii_reads"
DAILY_ACCESS = f"{NAMESPACE}.gold.daily_access"
ACCESS_ANOMALIES = f"{NAMESPACE}.gold.access_anomalies"
DORMANT_KEY_USES = f"{NAMESPACE}.gold.dormant_key_uses"
LINEAGE = f"{NAMESPACE}.gold.lineage_current"

TABLE_NAME = r"^[a-z][a-z0-9_]*\.(bronze|silver|gold|quarantine)\.[a-z][a-z0-9_]*$"
_TABLE_NAME = re.compile(TABLE_NAME)

Actor = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="A user name, or key:<name> for an API key."),
]
TableFilter = Annotated[
    str | None,
    Query(
        pattern=TABLE_NAME,
        max_length=200,
        description="A table, <product>.<layer>.<table>, e.g. mobile_user_analytics.gold.user_summary.",
    ),
]
FirstDay = Annotated[ReportDate | None, Query(alias="from", description="First UTC day, included.")]
LastDay = Annotated[ReportDate | None, Query(alias="to", description="Last UTC day, included.")]


def check_days(first: date | None, last: date | None) -> None:
    """Refuse a period that ends before it starts, naming `to`."""
    if first is not None and last is not None and first > last:
        raise InvalidRequestError(
            f"`to` ({last}) is before `from` ({first}); give a `to` on or after `from`.",
            field="query.to",
        )


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a time without a zone is taken as UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_table_name(name: str) -> bool:
    return bool(_TABLE_NAME.match(name))


def filtered(sql: str, filters: list[tuple[str, Any]], order: str) -> tuple[str, list[Any]]:
    """`sql` with a `where` of each (condition, value) whose value is given, then `order`.

    A condition with several `?` takes a tuple of values. Only the filters given enter the SQL,
    so each combination is its own query (and a cursor fits only its own).
    """
    given = [(condition, value) for condition, value in filters if value is not None]
    where = f" where {' and '.join(c for c, _ in given)}" if given else ""
    params: list[Any] = []
    for _, value in given:
        params.extend(value if isinstance(value, tuple) else (value,))
    return f"{sql}{where} {order}", params
