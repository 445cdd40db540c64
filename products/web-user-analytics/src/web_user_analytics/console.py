"""The product's pages in the admin console: traffic over the last 30 days, and what it is made
of (pages, sources, devices), each chart drawn from one of the product's own routes."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dataplatform.core.access import product_permission
from dataplatform.core.console import Chart, ConsolePage
from dataplatform.core.product_context import ProductContext
from web_user_analytics.settings import WebUserAnalyticsSettings

READ = product_permission("web-user-analytics", "read")
DAYS = 30


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
    )
