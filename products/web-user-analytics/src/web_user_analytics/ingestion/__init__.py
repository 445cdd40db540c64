"""What web-user-analytics accepts: its event streams."""

from dataplatform.core.product import Stream

STREAMS = (
    Stream(
        name="clickstream",
        description="Page views, clicks and identify calls sent by analytics.js, posthog-js and servers.",
        table="bronze.clickstream",
        source_kinds=("web", "server"),
        surface="page",
    ),
)
