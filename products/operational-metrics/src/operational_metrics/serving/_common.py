"""What the /ops routes share: statuses, their SQL, and parameters."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query

from dataplatform.core.errors import InvalidRequestError, did_you_mean
from dataplatform.core.serving import PageCursor, PageLimit

# The platform's paging parameters, under the names the routes use.
Limit = PageLimit
Cursor = PageCursor

# API traffic outside every product's prefix (login, catalog, admin, collector, probes).
PLATFORM = "platform"

BUS_LAG_NOT_MEASURED = (
    "the platform measured no bus of this product in the latest minute: it measures the bus "
    "of each product that accepts events, every round of `dataplatform jobs run`"
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


def known_product(name: str | None, known: list[str], field: str = "query.product") -> str | None:
    """`name` when it is None (every product) or one of `known`, else a 422 naming `field`
    with the products known."""
    if name is not None and name not in known:
        raise InvalidRequestError(
            f"`{name}` is not a product the metrics cover; they cover {', '.join(known)}."
            f"{did_you_mean(name, known)}",
            field=field,
        )
    return name


def check_time_order(start: datetime | None, end: datetime | None) -> None:
    """Refuse a time range whose `from` is not before its `to`, naming `from`."""
    if start is not None and end is not None and start >= end:
        raise InvalidRequestError(
            f"`from` ({start.isoformat()}) is not before `to` ({end.isoformat()}); give a `from` "
            "before `to`.",
            field="query.from",
        )
