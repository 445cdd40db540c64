"""The insights routes a product mounts over its events: `POST {prefix}/insights/trends`,
`/paths`, `/stickiness`, `/retention`, saved cohorts under `/cohorts` and trend alerts under
`/alerts`."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dataplatform.core.access import QUERY_RUN, Principal, product_permission, require
from dataplatform.core.alerting import Webhook
from dataplatform.core.insights._alerts import (
    TrendAlertIn,
    alert_history,
    alert_tables,
    alert_value,
    check_destinations,
    delete_alert,
    find_alert,
    save_alert,
    saved_alerts,
    snooze_alert,
)
from dataplatform.core.insights._cohorts import (
    CohortIn,
    cohorts_table,
    find_cohort,
    save_cohort,
    saved_cohorts,
    segments_of,
)
from dataplatform.core.insights._paths import paths, stickiness
from dataplatform.core.insights._queries import PathsQuery, StickinessQuery, TrendsQuery
from dataplatform.core.insights._retention import (
    RetentionQuery,
    SizesQuery,
    cohort_sizes,
    retention,
)
from dataplatform.core.insights._source import EventSource, caller_read
from dataplatform.core.insights._trends import trends
from dataplatform.core.serving import JSONOut, lake_of

CohortId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="The cohort's id.")]
AlertId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="The trend alert's id.")]


class SnoozeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime | None = Field(
        description="Until when its news are silenced; null wakes it now."
    )


def insights_router(
    product: str, source: EventSource, *, timezone: str, webhooks: Sequence[Webhook] = ()
) -> APIRouter:
    """The insights routes over `source`, in `timezone` unless a request names another; trend
    alerts are sent to `webhooks` (the product's `alert_webhooks`)."""
    router = APIRouter(prefix="/insights", tags=[product])
    can_read = require(product_permission(product, "read"))
    _alert_routes(router, source, timezone, webhooks, can_read)

    @router.post(
        "/trends",
        summary="Trends of any events: counts, people or a property's statistic per interval",
        description=(
            "Each series counts events of a name (several, or all), the people who did them, "
            "or a statistic of a numeric property, per minute, hour, day, week or month in the "
            "timezone; filtered by properties, split by one property's most frequent values "
            "(the rest as `other`), beside the period before, and combined by a formula."
        ),
    )
    async def trends_route(
        query: TrendsQuery, request: Request, caller: Annotated[Principal, can_read]
    ) -> JSONOut:
        return JSONOut(await trends(request, caller, source, query, timezone))

    @router.post(
        "/paths",
        summary="Paths: what people did after (or before) an event, step by step",
        description=(
            "From each person's first event matching `start` in the period, their next (or "
            "previous) `steps` events, named as pages, screens or events: people reaching and "
            "dropping off at each step, the most common moves per step (a Sankey diagram's "
            "links) and the most common whole sequences."
        ),
    )
    async def paths_route(
        query: PathsQuery, request: Request, caller: Annotated[Principal, can_read]
    ) -> JSONOut:
        return JSONOut(await paths(request, caller, source, query, timezone))

    @router.post(
        "/stickiness",
        summary="Stickiness: on how many days of the period people did an event",
    )
    async def stickiness_route(
        query: StickinessQuery, request: Request, caller: Annotated[Principal, can_read]
    ) -> JSONOut:
        return JSONOut(await stickiness(request, caller, source, query, timezone))

    @router.post(
        "/retention",
        summary="Retention: who did the return event in each interval after their start event",
        description=(
            "People grouped by the interval of their first start event in the period; per "
            "group, how many did the return event in that interval and each of `periods` after "
            "it. With `cohorts`, a table per saved cohort."
        ),
    )
    async def retention_route(
        query: RetentionQuery, request: Request, caller: Annotated[Principal, can_read]
    ) -> JSONOut:
        return JSONOut(await retention(request, caller, source, query, timezone))

    @router.get("/cohorts", summary="Saved cohorts, oldest first")
    async def list_cohorts(request: Request, caller: Annotated[Principal, can_read]) -> JSONOut:
        found = await anyio.to_thread.run_sync(
            saved_cohorts, lake_of(request), cohorts_table(source)
        )
        return JSONOut({"cohorts": [cohort.as_json() for cohort in found]})

    @router.post("/cohorts", status_code=201, summary="Save a cohort")
    async def create_cohort(
        cohort: CohortIn, request: Request, caller: Annotated[Principal, require(QUERY_RUN)]
    ) -> JSONOut:
        if cohort.segments:
            segments_of(source, caller)
        table = cohorts_table(source)
        saved = await anyio.to_thread.run_sync(
            save_cohort, lake_of(request), table, cohort, caller.subject
        )
        return JSONOut(saved.as_json(), status_code=201)

    @router.get("/cohorts/{cohort_id}", summary="One saved cohort")
    async def get_cohort(
        cohort_id: CohortId, request: Request, caller: Annotated[Principal, can_read]
    ) -> JSONOut:
        table = cohorts_table(source)
        found = await anyio.to_thread.run_sync(
            find_cohort, lake_of(request), table, cohort_id, "path.cohort_id"
        )
        return JSONOut(found.as_json())

    @router.post(
        "/cohorts/{cohort_id}/sizes", summary="A cohort's size at the end of each interval"
    )
    async def sizes(
        cohort_id: CohortId,
        query: SizesQuery,
        request: Request,
        caller: Annotated[Principal, can_read],
    ) -> JSONOut:
        return JSONOut(await cohort_sizes(request, caller, source, cohort_id, query, timezone))

    return router


def _alert_routes(
    router: APIRouter,
    source: EventSource,
    timezone: str,
    webhooks: Sequence[Webhook],
    can_read: Any,
) -> None:
    can_save = require(QUERY_RUN)

    @router.get("/alerts", summary="Trend alerts, oldest first, each with its latest check")
    async def list_alerts(request: Request, caller: Annotated[Principal, can_read]) -> JSONOut:
        lake, tables = lake_of(request), alert_tables(source)
        found = await anyio.to_thread.run_sync(saved_alerts, lake, tables.rules)
        return JSONOut({"alerts": [alert.as_json() for alert in found]})

    @router.post(
        "/alerts",
        status_code=201,
        summary="Create a trend alert: a line of a trend checked against a threshold",
        description=(
            "Each time an interval ends (and 2 minutes more, for late events), the line's value "
            "over it is compared with `threshold`; when the alert starts or stops firing, each "
            "destination (a webhook of the product's `alert_webhooks` setting) is sent the news "
            "once, signed. The answer holds the value over the last whole interval now."
        ),
    )
    async def create_alert(
        alert: TrendAlertIn, request: Request, caller: Annotated[Principal, can_save]
    ) -> JSONOut:
        check_destinations(alert, webhooks)
        if alert.trend.timezone is None:
            alert = alert.model_copy(
                update={"trend": alert.trend.model_copy(update={"timezone": timezone})}
            )
        lake = lake_of(request)
        start, end, value = await alert_value(
            caller_read(request, caller, source), lake, caller, source, alert, datetime.now(UTC)
        )
        table = alert_tables(source).rules
        saved = await anyio.to_thread.run_sync(save_alert, lake, table, alert, caller.subject)
        now = {"from": start, "to": end, "value": value, "firing": alert.fires(value)}
        return JSONOut(saved.as_json() | {"now": now}, status_code=201)

    @router.get("/alerts/{alert_id}", summary="A trend alert, its latest checks and deliveries")
    async def get_alert(
        alert_id: AlertId, request: Request, caller: Annotated[Principal, can_read]
    ) -> JSONOut:
        lake, tables = lake_of(request), alert_tables(source)
        found = await anyio.to_thread.run_sync(
            find_alert, lake, tables.rules, alert_id, "path.alert_id"
        )
        history = await anyio.to_thread.run_sync(alert_history, lake, tables, alert_id)
        return JSONOut(found.as_json() | history)

    @router.post(
        "/alerts/{alert_id}/snooze",
        summary="Snooze a trend alert until a time (its news then are `silenced`), or wake it",
    )
    async def snooze(
        alert_id: AlertId,
        body: SnoozeIn,
        request: Request,
        caller: Annotated[Principal, can_save],
    ) -> JSONOut:
        table = alert_tables(source).rules
        snoozed = await anyio.to_thread.run_sync(
            snooze_alert, lake_of(request), table, alert_id, body.until, "path.alert_id"
        )
        return JSONOut(snoozed.as_json())

    @router.delete("/alerts/{alert_id}", status_code=204, summary="Delete a trend alert")
    async def remove_alert(
        alert_id: AlertId, request: Request, caller: Annotated[Principal, can_save]
    ) -> Response:
        table = alert_tables(source).rules
        await anyio.to_thread.run_sync(
            delete_alert, lake_of(request), table, alert_id, "path.alert_id"
        )
        return Response(status_code=204)
