"""`/mobile/insights`: trends of any event the apps send, over silver.app_events (screen views
are `$screen`; identify and alias calls are not events), in UTC unless a request names a zone."""

from fastapi import APIRouter

from dataplatform.core.insights import (
    EventSource,
    Segments,
    alert_tables_of,
    insights_router,
    trend_alerts_job,
)
from dataplatform.core.product_context import ProductContext
from mobile_user_analytics.serving._access import PRODUCT
from mobile_user_analytics.settings import REPORTING_TIMEZONE, MobileUserAnalyticsSettings

# What the app events know in typed columns, under PostHog's names for them.
TYPED_PROPERTIES = {
    "$platform": "platform",
    "$os_version": "os_version",
    "$app_version": "app_version",
    "$screen_name": "case when type = 'screen' then event end",
    "$revenue": "revenue",
    "$currency": "currency",
}

# Cohorts of segments: user-segmentation's published members, matched through its identity
# graph to the ids people are counted by here.
SEGMENTS = Segments(
    product="user-segmentation",
    membership="user_segmentation.gold.segment_membership",
    identity_graph="user_segmentation.gold.identity_graph",
)


def mobile_events(context: ProductContext[MobileUserAnalyticsSettings]) -> EventSource:
    """The apps' events as insights read them, and where their cohorts and alerts are kept."""
    return EventSource(
        table=context.table("silver.app_events"),
        # The signed-in user, else the install: as every mobile table counts people.
        person="coalesce(user_id, anonymous_id)",
        event="case when type = 'screen' then '$screen' else event end",
        rows="type in ('track', 'screen')",
        columns=TYPED_PROPERTIES,
        cohorts=context.table("gold.cohorts"),
        segments=SEGMENTS,
        persons=context.table("silver.person_properties"),
        alerts=alert_tables_of(context.table),
    )


def mobile_insights_router(context: ProductContext[MobileUserAnalyticsSettings]) -> APIRouter:
    return insights_router(
        PRODUCT,
        mobile_events(context),
        timezone=REPORTING_TIMEZONE,
        webhooks=context.settings.alert_webhooks,
    )


# Trend alerts checked, and their news sent, by the product's runner.
TREND_ALERTS = trend_alerts_job(mobile_events)
