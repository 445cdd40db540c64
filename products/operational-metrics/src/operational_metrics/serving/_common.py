"""What the /ops routes share: the permission, the gold tables, statuses and parameters."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Query

from dataplatform.core.access import Principal, product_permission, require
from dataplatform.core.errors import InvalidRequestError, did_you_mean
from dataplatform.core.serving import PageCursor, PageLimit

# The platform's paging parameters, under the names the routes use.
Limit = PageLimit
Cursor = PageCursor

PRODUCT = "operational-metrics"
READ = require(product_permission(PRODUCT, "read"))
Caller = Annotated[Principal, READ]
# API traffic outside every product's prefix (login, catalog, admin, collector, probes).
PLATFORM = "platform"


def gold(table: str) -> str:
    """The full name of one of the product's gold tables."""
    return f"operational_metrics.gold.{table}"


SLO_STATUS = gold("slo_status")
INCIDENTS = gold("incidents")
API_TRAFFIC = gold("api_traffic")
PRODUCT_FRESHNESS = gold("product_freshness")
TABLE_FRESHNESS = gold("table_freshness")
TABLE_VOLUMES = gold("table_volumes")
MODEL_ACTIVITY = gold("model_activity")
MODEL_STATUS = gold("model_status")
BUS_LAG = gold("bus_lag")

BUS_LAG_NOT_MEASURED = (
    "the platform measured no bus of this product in the latest minute: it measures the "
    "embedded and Redis buses of products that accept events, never Kafka's"
)

# An SLO's status, worst first: an open fast-burn incident, an open slow-burn one, its 30-day
# compliance below target, else ok when it has events, no_data when not. A product takes the
# worst of its SLOs': critical (fast burn), warning (slow burn, or a target missed), ok, no_data.
SLO_STATUS_SQL = """
case
    when coalesce(open_incidents.fast, 0) > 0 then 'fast_burn'
    when coalesce(open_incidents.slow, 0) > 0 then 'slow_burn'
    when slo_status.compliance_30d < slo_status.target then 'target_missed'
    when slo_status.total_30d > 0 then 'ok'
    else 'no_data'
end
"""
OPEN_INCIDENTS_SQL = """
open_incidents as (
    select
        product,
        slo,
        count(*) filter (where severity = 'fast') as fast,
        count(*) filter (where severity = 'slow') as slow
    from incidents
    where state = 'open'
    group by product, slo
)
"""


def product_status_sql(over: str = "") -> str:
    """A product's status from its SLOs' `slo_state`: an aggregate, or a window with `over`."""
    return f"""
case
    when bool_or(slo_state = 'fast_burn') {over} then 'critical'
    when bool_or(slo_state in ('slow_burn', 'target_missed')) {over} then 'warning'
    when bool_or(slo_state = 'ok') {over} then 'ok'
    else 'no_data'
end
"""


SloState = Literal["fast_burn", "slow_burn", "target_missed", "ok", "no_data"]

ProductName = Annotated[
    str | None,
    Query(
        pattern="^[a-z][a-z0-9-]{0,63}$",
        description="A product's name (mobile-user-analytics); every product when absent.",
    ),
]


def known_product(name: str, known: list[str], field: str = "query.product") -> str:
    """`name` when it is one of `known`, else a 422 naming `field` with the products known."""
    if name not in known:
        raise InvalidRequestError(
            f"`{name}` is not a product the metrics cover; they cover {', '.join(known)}."
            f"{did_you_mean(name, known)}",
            field=field,
        )
    return name


def page_answer(page: dict[str, Any], **query: Any) -> dict[str, Any]:
    """A page with the query it answers (defaults filled in), so a client sees what it got."""
    return {"query": query, **page}


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a time without a zone is taken as UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
