"""The product's pages in the admin console: traffic over the last 30 days, and what it is made
of (pages, sources, devices), each chart drawn from one of the product's own routes; funnels;
and insights on any event (`dataplatform.core.insights`)."""

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dataplatform.core.access import product_permission
from dataplatform.core.console import Answer, Chart, ConsolePage, Field, Form
from dataplatform.core.insights import insights_page
from dataplatform.core.product_context import ProductContext
from web_user_analytics.settings import WebUserAnalyticsSettings

READ = product_permission("web-user-analytics", "read")
WRITE = product_permission("web-user-analytics", "write")
DAYS = 30
FUNNEL_BARS = Answer("name", ("people", "drop_off"), rows="steps", kind="bar")
EXAMPLE_STEPS = [{"page": "/"}, {"page": "/cart"}, {"conversion": True}]


def console_pages(context: ProductContext[WebUserAnalyticsSettings]) -> Sequence[ConsolePage]:
    """The pages, over the last `DAYS` days in the reporting timezone in force."""
    today = datetime.now(ZoneInfo(context.settings.reporting_timezone)).date()
    period = f"from={today - timedelta(days=DAYS - 1)}&to={today}"
    return (
        ConsolePage(
            "traffic",
            "Traffic",
            READ,
            description=f"Visitors, sessions, bounce rate and revenue, the last {DAYS} days.",
            charts=(
                Chart(
                    "Visitors, sessions and page views per day",
                    f"/overview?{period}",
                    x="day",
                    series=("visitors", "sessions", "pageviews"),
                    rows="days",
                ),
                Chart(
                    "Bounce rate per day",
                    f"/overview?{period}",
                    x="day",
                    series=("bounce_rate",),
                    rows="days",
                ),
                Chart(
                    "Revenue per day",
                    f"/overview?{period}",
                    x="day",
                    series=("revenue",),
                    rows="days",
                    kind="bar",
                ),
            ),
        ),
        ConsolePage(
            "content",
            "Pages, sources and devices",
            READ,
            description=f"What the last {DAYS} days' traffic was made of.",
            charts=(
                Chart(
                    "Top pages",
                    f"/pages/top?{period}&limit=20",
                    x="path",
                    series=("views", "visitors", "entrances"),
                    kind="table",
                ),
                Chart(
                    "Sessions by source",
                    f"/sources?{period}&limit=20",
                    x="source",
                    series=("utm_campaign", "sessions", "visitors", "bounce_rate"),
                    kind="table",
                ),
                Chart(
                    "Sessions by device",
                    f"/devices?{period}&limit=20",
                    x="device_type",
                    series=("browser", "os", "sessions", "visitors"),
                    kind="table",
                ),
            ),
        ),
        ConsolePage(
            "realtime",
            "Realtime",
            READ,
            description="Visitors on the site in the last minutes, refreshed while you look.",
            charts=(
                Chart(
                    "Visitors right now",
                    "/realtime",
                    x="visitors",
                    series=("since", "as_of"),
                    kind="table",
                    refresh_seconds=10,
                ),
            ),
        ),
        ConsolePage(
            "funnels",
            "Funnels",
            READ,
            description=f"How many people went through each step, and where they dropped off, "
            f"the last {DAYS} days.",
            forms=(
                Form(
                    "Results of a funnel",
                    "/funnels/{funnel_id}/results",
                    "GET",
                    fields=(
                        Field("funnel_id", "Funnel id", value=_first_funnel(context)),
                        Field("from", "From", "date", str(today - timedelta(days=DAYS - 1))),
                        Field("to", "To", "date", str(today)),
                    ),
                    submit="Show",
                    answer=FUNNEL_BARS,
                ),
                Form(
                    "Define a funnel",
                    "/funnels",
                    fields=(
                        Field("name", "Name"),
                        Field(
                            "steps",
                            "Steps",
                            "json",
                            json.dumps(EXAMPLE_STEPS),
                            help='In order: {"page": "/cart"} (a path, * matches any part), '
                            '{"event": "Order Completed"} or {"conversion": true}.',
                        ),
                        Field("window_days", "Days to complete it", "number", required=False),
                    ),
                    submit="Create",
                    permission=WRITE,
                ),
            ),
            charts=(
                *(
                    Chart(
                        f"Funnel: {funnel.name}",
                        f"/funnels/{funnel.id}/results?{period}",
                        x=FUNNEL_BARS.x,
                        series=FUNNEL_BARS.series,
                        rows=FUNNEL_BARS.rows,
                        kind="bar",
                    )
                    for funnel in context.settings.funnels
                ),
                Chart(
                    "Every funnel",
                    "/funnels",
                    x="id",
                    series=("name", "origin", "steps", "window_days"),
                    kind="table",
                ),
            ),
        ),
        insights_page(READ, context.settings.reporting_timezone, "$pageview"),
    )


def _first_funnel(context: ProductContext[WebUserAnalyticsSettings]) -> str:
    return context.settings.funnels[0].id if context.settings.funnels else ""
