"""The product's pages in the admin console: active users, activity over time and app versions,
each chart drawn from one of the product's own routes (UTC days, every platform and version);
and insights on any event (`dataplatform.core.insights`)."""

from collections.abc import Sequence

from dataplatform.core.access import product_permission
from dataplatform.core.console import Answer, Chart, ConsolePage, Field, Form
from dataplatform.core.insights import insights_page
from dataplatform.core.product_context import ProductContext
from mobile_user_analytics.settings import REPORTING_TIMEZONE, MobileUserAnalyticsSettings

READ = product_permission("mobile-user-analytics", "read")


def console_pages(context: ProductContext[MobileUserAnalyticsSettings]) -> Sequence[ConsolePage]:
    return (
        ConsolePage(
            "active-users",
            "Active users",
            READ,
            description="Distinct users a day, and over the 7 and 30 days ending that day.",
            charts=(
                Chart(
                    "DAU, WAU and MAU per day",
                    "/active-users",
                    x="day",
                    series=("dau", "wau", "mau"),
                ),
            ),
        ),
        ConsolePage(
            "activity",
            "Activity",
            READ,
            description="Events, active users and crashes of the last 7 days, per hour and per day.",
            charts=(
                Chart(
                    "Events and active users per hour",
                    "/activity?granularity=hour&limit=500",
                    x="window_start",
                    series=("events", "active_users"),
                ),
                Chart(
                    "Crashes per day",
                    "/activity?granularity=day",
                    x="window_start",
                    series=("crashes",),
                    kind="bar",
                ),
            ),
        ),
        ConsolePage(
            "versions",
            "App versions",
            READ,
            description="Crash-free users and sessions, and use, by app version.",
            charts=(
                Chart(
                    "Crash-free users and sessions by app version",
                    "/crashes",
                    x="app_version",
                    series=("crash_free_users", "crash_free_sessions"),
                    kind="bar",
                ),
                Chart(
                    "App versions",
                    "/versions",
                    x="app_version",
                    series=("platform", "users", "sessions", "events"),
                    kind="table",
                ),
            ),
        ),
        ConsolePage(
            "retention",
            "Retention",
            READ,
            description="Of the users first seen on a day (a cohort), the share seen again N "
            "days later (UTC); a cell is empty until its day has passed.",
            charts=(
                Chart(
                    "Retention by cohort",
                    "/retention",
                    x="cohort_day",
                    series=("day", "rate"),
                    cells="retention",
                    kind="heatmap",
                ),
                Chart("Cohort sizes", "/retention", x="cohort_day", series=("users",), kind="bar"),
            ),
        ),
        ConsolePage(
            "user",
            "A user",
            READ,
            description="One user's summary and their days, by signed-in user id or an "
            "install's anonymous id.",
            forms=(
                Form(
                    "Summary",
                    "/users/{user_id}/summary",
                    "GET",
                    fields=(Field("user_id", "User id"),),
                    submit="Show",
                ),
                Form(
                    "Timeline",
                    "/users/{user_id}/timeline",
                    "GET",
                    fields=(Field("user_id", "User id"),),
                    submit="Show",
                    answer=Answer(
                        "day",
                        ("platform", "sessions", "events", "screen_views", "purchases", "revenue"),
                        rows="days",
                    ),
                ),
            ),
        ),
        insights_page(READ, REPORTING_TIMEZONE, "$screen"),
    )
