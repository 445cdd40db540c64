"""The insights page a product with events adds to its console pages: a trends builder with its
chart, paths as a Sankey diagram, retention, saved cohorts with their size over time, and trend
alerts, each a form over the product's own insights routes."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dataplatform.core.access import QUERY_RUN
from dataplatform.core.console import EVERY, Answer, Chart, ConsolePage, Field, Form

DAYS = 30
MATHS = ("total", "unique_users", "per_user_avg", "sum", "avg", "median", "p90", "p99")
OPERATORS = ("=", "!=", "in", "not in", "contains", ">", "<", "is set", "is not set")


def insights_page(permission: str, timezone: str, first_event: str) -> ConsolePage:
    """The page, its periods the last `DAYS` days in `timezone`; `first_event` fills the forms
    (`$pageview`, `$screen`)."""
    today = datetime.now(ZoneInfo(timezone)).date()
    since, until = str(today - timedelta(days=DAYS - 1)), str(today)

    def period() -> tuple[Field, Field]:
        return Field("from", "From", "date", since), Field("to", "To", "date", until)

    return ConsolePage(
        "insights",
        "Insights",
        permission,
        description="Ask your own questions of the events: trends, paths, retention, cohorts; "
        "and be told when a trend crosses a threshold.",
        charts=(
            Chart(
                "Trend alerts",
                "/insights/alerts",
                "name",
                ("line", "condition", "threshold", "snoozed_until", "id"),
                rows="alerts",
                kind="table",
            ),
        ),
        forms=(
            Form(
                "Trends",
                "/insights/trends",
                fields=(
                    Field(
                        "series",
                        "Series",
                        "rows",
                        json.dumps([{"event": first_event, "math": "total"}]),
                        columns=(
                            Field("event", "Event", required=False, help="Empty: every event."),
                            Field("math", "Count", "select", "total", options=MATHS),
                            Field("property", "Numeric property", required=False),
                        ),
                    ),
                    *period(),
                    Field(
                        "interval", "Interval", "select", "day", ("day", "hour", "week", "month")
                    ),
                    Field("breakdown.property", "Break down by", required=False),
                    Field("formula", "Formula", required=False, help="Over the series: A / B."),
                ),
                submit="Draw",
                answer=Answer("bucket", (EVERY,), rows="chart", kind="line"),
            ),
            Form(
                "Paths",
                "/insights/paths",
                fields=(
                    Field("start.event", "Start event", value=first_event),
                    Field("direction", "Direction", "select", "after", ("after", "before")),
                    Field("steps", "Steps", "number", "4"),
                    *period(),
                ),
                submit="Follow",
                answer=Answer("source", ("target", "people"), rows="sankey", kind="sankey"),
            ),
            Form(
                "Retention",
                "/insights/retention",
                fields=(
                    Field("start.event", "Start event", value=first_event),
                    Field("returning.event", "Return event", value=first_event),
                    Field("interval", "Interval", "select", "week", ("day", "week", "month")),
                    Field("periods", "Intervals after", "number", "4"),
                    Field("cohorts", "Cohorts", "list", required=False, help="Saved cohort ids."),
                    *period(),
                ),
                submit="Count",
                answer=Answer("start", ("cohort", "people", "returned"), rows="rows"),
            ),
            Form(
                "Save a cohort",
                "/insights/cohorts",
                fields=(
                    Field("name", "Name"),
                    Field(
                        "performed",
                        "Did",
                        "rows",
                        json.dumps([{"event": first_event, "at_least": 1, "in_last_days": 30}]),
                        columns=(
                            Field("event", "Event"),
                            Field("at_least", "At least", "number"),
                            Field("in_last_days", "In the last days", "number"),
                        ),
                    ),
                    Field("segments", "In segments", "list", required=False),
                    Field(
                        "has",
                        "Has",
                        "rows",
                        required=False,
                        columns=(
                            Field("property", "Person property"),
                            Field("operator", "Is", "select", "=", options=OPERATORS),
                            Field("value", "Value", "json", required=False),
                        ),
                    ),
                ),
                submit="Save",
                permission=QUERY_RUN,
            ),
            Form(
                "Alert on a trend",
                "/insights/alerts",
                fields=(
                    Field("name", "Name"),
                    Field(
                        "trend.series",
                        "Series",
                        "rows",
                        json.dumps([{"event": first_event, "math": "total"}]),
                        columns=(
                            Field("event", "Event", required=False, help="Empty: every event."),
                            Field("math", "Count", "select", "total", options=MATHS),
                        ),
                    ),
                    Field(
                        "trend.interval",
                        "Each",
                        "select",
                        "hour",
                        ("minute", "hour", "day", "week", "month"),
                    ),
                    Field("condition", "When", "select", "below", ("below", "above")),
                    Field("threshold", "Threshold", "number"),
                    Field("destinations", "Send to", "list", help="Webhooks of `alert_webhooks`."),
                ),
                submit="Create",
                permission=QUERY_RUN,
            ),
            Form(
                "Snooze a trend alert",
                "/insights/alerts/{alert_id}/snooze",
                fields=(
                    Field("alert_id", "Alert id"),
                    Field("until", "Until", help="An ISO 8601 time: 2026-12-24T09:00:00Z."),
                ),
                submit="Snooze",
                permission=QUERY_RUN,
            ),
            Form(
                "A cohort's size",
                "/insights/cohorts/{cohort_id}/sizes",
                fields=(Field("cohort_id", "Cohort id"), *period()),
                submit="Measure",
                answer=Answer("bucket", ("people",), rows="rows", kind="line"),
            ),
        ),
    )
