"""`/web/insights`: trends of any event the site sends, over gold.session_events (page views
are `$pageview` and a path's steps are pages, bots left out), in the reporting timezone."""

from fastapi import APIRouter

from dataplatform.core.insights import (
    EventSource,
    Segments,
    alert_tables_of,
    insights_router,
    trend_alerts_job,
)
from dataplatform.core.product_context import ProductContext
from web_user_analytics.serving._access import PRODUCT
from web_user_analytics.settings import WebUserAnalyticsSettings

# What the session events know in typed columns, under PostHog's names for them.
TYPED_PROPERTIES = {
    "$pathname": "path",
    "$browser": "browser",
    "$os": "os",
    "$device_type": "device_type",
    "$source": "source",
    "$referring_domain": "referrer_host",
    "$utm_source": "utm_source",
    "$utm_medium": "utm_medium",
    "$utm_campaign": "utm_campaign",
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


def web_events(context: ProductContext[WebUserAnalyticsSettings]) -> EventSource:
    """The site's events as insights read them, and where its cohorts and alerts are kept."""
    return EventSource(
        table=context.table("gold.session_events"),
        person="person_id",
        event="case when is_pageview then '$pageview' else event end",
        step="case when is_pageview then path else event end",
        columns=TYPED_PROPERTIES,
        cohorts=context.table("gold.cohorts"),
        segments=SEGMENTS,
        persons=context.table("silver.person_properties"),
        alerts=alert_tables_of(context.table),
    )


def web_insights_router(context: ProductContext[WebUserAnalyticsSettings]) -> APIRouter:
    return insights_router(
        PRODUCT,
        web_events(context),
        timezone=context.settings.reporting_timezone,
        webhooks=context.settings.alert_webhooks,
    )


# Trend alerts checked, and their news sent, by the product's runner.
TREND_ALERTS = trend_alerts_job(web_events)
