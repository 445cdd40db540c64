"""Trend alerts: a trend's value checked against a threshold once each interval ends
("signups per hour below 10"), and its news sent to the product's alert webhooks.

Each run of the job checks every alert's last whole bucket (ended `SETTLE` ago, so late events
have landed) unless it is checked already, and records the check (`gold.trend_alert_checks`). An
alert that starts firing, or stops, makes one delivery per destination (`firing`, `resolved`),
its id a hash of the alert, the bucket and the event, so each is sent once, in order (a
resolution waits for its firing), tried again next run until delivered or dead, and `silenced`
while the alert is snoozed. Every delivery and its tries are kept in
`gold.trend_alert_deliveries`, as operational-metrics keeps its incidents' (one webhook
configuration and retry rule for both: `dataplatform.core.alerting`).
"""

import asyncio
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from string import ascii_uppercase
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dataplatform.core.access import ADMIN, Principal
from dataplatform.core.alerting import SETTLED, AlertSettings, Webhook, deliver
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import (
    InvalidRequestError,
    NotFoundError,
    TerminalError,
    did_you_mean,
)
from dataplatform.core.insights._periods import last_whole_bucket, zone_of
from dataplatform.core.insights._queries import (
    MAX_SERIES,
    Filters,
    Interval,
    Number,
    Series,
    TrendsQuery,
)
from dataplatform.core.insights._source import AlertTables, EventRead, EventSource, job_read
from dataplatform.core.insights._trends import answer_trends
from dataplatform.core.jobs import Job, JobContext
from dataplatform.core.serving import TableSnapshots

SETTLE = timedelta(minutes=2)
# The reader of a job's trends: it may read any table a saved cohort needs; what it answers
# leaves only as the alert's number.
_JOB = Principal("trend-alerts", "user", frozenset(), frozenset({ADMIN}))
_TIME = pa.timestamp("us", tz="UTC")

TREND_ALERTS_SCHEMA = pa.schema(
    [
        pa.field("alert_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("definition", pa.string(), nullable=False),  # JSON: `TrendAlertIn`
        pa.field("created_by", pa.string(), nullable=False),
        pa.field("created_at", _TIME, nullable=False),
        pa.field("snoozed_until", _TIME),
    ]
)
TREND_ALERT_CHECKS_SCHEMA = pa.schema(
    [
        pa.field("alert_id", pa.string(), nullable=False),
        pa.field("bucket_start", _TIME, nullable=False),
        pa.field("bucket_end", _TIME, nullable=False),
        pa.field("value", pa.float64()),
        pa.field("firing", pa.bool_(), nullable=False),
        pa.field("error", pa.string()),
        pa.field("checked_at", _TIME, nullable=False),
    ]
)
TREND_ALERT_DELIVERIES_SCHEMA = pa.schema(
    [
        pa.field("delivery_id", pa.string(), nullable=False),
        pa.field("alert_id", pa.string(), nullable=False),
        pa.field("event", pa.string(), nullable=False),  # firing | resolved
        pa.field("bucket_start", _TIME, nullable=False),
        pa.field("value", pa.float64()),
        pa.field("destination", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),  # pending, delivered, failed, ...
        pa.field("attempts", pa.int32(), nullable=False),
        pa.field("http_status", pa.int32()),
        pa.field("error", pa.string()),
        pa.field("created_at", _TIME, nullable=False),
        pa.field("last_attempt_at", _TIME),
        pa.field("delivered_at", _TIME),
    ]
)


class AlertTrend(BaseModel):
    """The trend an alert watches: a trend's query without a period (each check asks for the
    last whole interval), a breakdown or a comparison."""

    model_config = ConfigDict(extra="forbid")

    series: Annotated[list[Series], Field(min_length=1, max_length=MAX_SERIES)]
    interval: Interval = "hour"
    filters: Filters = []
    cohort: str | None = Field(None, max_length=64)
    segment: str | None = Field(None, min_length=1, max_length=100)
    formula: str | None = Field(None, max_length=200)
    timezone: str | None = Field(
        None, max_length=64, description="An IANA zone; the product's reporting timezone if absent."
    )


class TrendAlertIn(BaseModel):
    """Fire when a trend's line is below (or above) a threshold over a whole interval."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    trend: AlertTrend
    line: str = Field(
        "A", max_length=10, description="The series checked, by letter, or `formula`."
    )
    condition: Literal["below", "above"]
    threshold: Number
    destinations: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=63)]],
        Field(min_length=1, max_length=10),
    ] = Field(description="Webhooks of the product's `alert_webhooks` setting, by name.")

    @model_validator(mode="after")
    def _line_exists(self) -> Self:
        letters = ascii_uppercase[: len(self.trend.series)]
        if self.line == "formula" and self.trend.formula is None:
            raise ValueError("`line` is `formula`, but the trend has no `formula`")
        if self.line != "formula" and self.line not in letters:
            raise ValueError(
                f"`line` {self.line!r} is not a series of the trend: {', '.join(letters)}"
                + (" or `formula`" if self.trend.formula else "")
            )
        return self

    def fires(self, value: float | None) -> bool:
        """Whether `value` breaks the threshold (no value, an average of nothing, never does)."""
        if value is None:
            return False
        return value < self.threshold if self.condition == "below" else value > self.threshold


@dataclass(frozen=True)
class TrendAlert:
    alert_id: str
    definition: TrendAlertIn
    created_by: str
    created_at: datetime
    snoozed_until: datetime | None

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and now < self.snoozed_until

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.alert_id,
            **self.definition.model_dump(exclude_none=True),
            "created_by": self.created_by,
            "created_at": self.created_at,
            "snoozed_until": self.snoozed_until,
        }


def alert_tables(source: EventSource) -> AlertTables:
    if source.alerts is None:
        raise NotFoundError("This product keeps no trend alerts.")
    return source.alerts


def check_destinations(alert: TrendAlertIn, webhooks: Sequence[Webhook]) -> None:
    """A 422 naming the first destination the product's `alert_webhooks` does not hold."""
    names = [webhook.name for webhook in webhooks]
    for index, name in enumerate(alert.destinations):
        if name not in names:
            raise InvalidRequestError(
                f"No webhook `{name}` in this product's `alert_webhooks` setting"
                + (f" (it has {', '.join(names)})." if names else ", which is empty: add one.")
                + did_you_mean(name, names),
                field=f"body.destinations[{index}]",
            )


def save_alert(lake: Lakehouse, table: str, alert: TrendAlertIn, by: str) -> TrendAlert:
    saved = TrendAlert(uuid.uuid4().hex[:12], alert, by, datetime.now(UTC), None)
    _write_rules(lake, table, [saved])
    return saved


def snooze_alert(
    lake: Lakehouse, table: str, alert_id: str, until: datetime | None, field: str
) -> TrendAlert:
    found = find_alert(lake, table, alert_id, field)
    snoozed = TrendAlert(
        found.alert_id, found.definition, found.created_by, found.created_at, until
    )
    _write_rules(lake, table, [snoozed])
    return snoozed


def delete_alert(lake: Lakehouse, table: str, alert_id: str, field: str) -> None:
    find_alert(lake, table, alert_id, field)
    lake.delete(table, f"alert_id = '{alert_id}'")  # the id is checked as hex by the route


def saved_alerts(lake: Lakehouse, table: str) -> list[TrendAlert]:
    """Every trend alert, oldest first (a handful of rows)."""
    if not lake.exists(table):
        return []
    rows = sorted(lake.read(table).to_pylist(), key=lambda r: (r["created_at"], r["alert_id"]))
    return [
        TrendAlert(
            row["alert_id"],
            TrendAlertIn.model_validate({"name": row["name"], **orjson.loads(row["definition"])}),
            row["created_by"],
            row["created_at"],
            row["snoozed_until"],
        )
        for row in rows
    ]


def find_alert(lake: Lakehouse, table: str, alert_id: str, field: str) -> TrendAlert:
    alerts = {alert.alert_id: alert for alert in saved_alerts(lake, table)}
    if alert_id not in alerts:
        raise NotFoundError(
            f"No trend alert `{alert_id}` (`{field}`); GET .../insights/alerts lists them."
            f"{did_you_mean(alert_id, alerts)}"
        )
    return alerts[alert_id]


def alert_history(
    lake: Lakehouse, tables: AlertTables, alert_id: str, limit: int = 50
) -> dict[str, list[dict[str, Any]]]:
    """An alert's latest checks and deliveries, newest first. Asked by a person, not every run:
    the files are pruned by the alert's id only, so this read grows with the history."""
    history = {}
    for key, table, order in (
        ("checks", tables.checks, "bucket_start"),
        ("deliveries", tables.deliveries, "created_at"),
    ):
        mine = _rows(lake, table, pc.field("alert_id") == alert_id)
        history[key] = sorted(mine, key=lambda r: r[order], reverse=True)[:limit]
    return history


async def alert_value(
    read: EventRead,
    lake: Lakehouse,
    caller: Principal,
    source: EventSource,
    alert: TrendAlertIn,
    now: datetime,
) -> tuple[datetime, datetime, float | None]:
    """(bucket start, bucket end, the checked line's value) over the last whole bucket at
    `now - SETTLE`."""
    zone = _zone(alert)
    bucket = last_whole_bucket(alert.trend.interval, zone, now - SETTLE)
    query = TrendsQuery.model_validate(
        {
            **alert.trend.model_dump(exclude_none=True),
            "timezone": zone.key,
            "from": bucket.start.isoformat(),
            "to": bucket.end.isoformat(),
        }
    )
    answer = await answer_trends(read, lake, caller, source, query, zone.key)
    if alert.line == "formula":
        value = answer["formula"]["lines"][0]["total"]
    else:
        value = answer["lines"][ascii_uppercase.index(alert.line)]["total"]
    return bucket.start, bucket.end, None if value is None else float(value)


def check_trend_alerts(
    settings: AlertSettings,
    lake: Lakehouse,
    read: EventRead,
    source: EventSource,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Check every alert's last whole bucket not checked yet, then send what is due; a summary
    of the checks made and the deliveries written."""
    now = now or datetime.now(UTC)
    tables = alert_tables(source)
    alerts = saved_alerts(lake, tables.rules)
    last_checks = _latest_checks(lake, tables.checks, alerts, now)
    checks, news = [], []
    for alert in alerts:
        check = _check(read, lake, source, alert, now, last_checks.get(alert.alert_id))
        if check is None:
            continue
        checks.append(check)
        before = last_checks.get(alert.alert_id)
        if check["firing"] != (before is not None and before["firing"]):
            news.extend(_news(alert, check, now))
    if checks:
        _write(lake, tables.checks, checks, TREND_ALERT_CHECKS_SCHEMA, None)
    if news:
        _write(lake, tables.deliveries, news, TREND_ALERT_DELIVERIES_SCHEMA, ["delivery_id"])
    written = _deliver_due(settings, lake, tables, {a.alert_id: a for a in alerts}, now)
    statuses = [row["status"] for row in written]
    return {
        "alerts": len(alerts),
        "checked": len(checks),
        "firing": sum(check["firing"] for check in checks),
        "deliveries": {status: statuses.count(status) for status in sorted(set(statuses))},
    }


def _check(
    read: EventRead,
    lake: Lakehouse,
    source: EventSource,
    alert: TrendAlert,
    now: datetime,
    last: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """The check of `alert`'s last whole bucket, or None when it is checked already."""
    bucket = last_whole_bucket(
        alert.definition.trend.interval, _zone(alert.definition), now - SETTLE
    )
    if last is not None and last["bucket_start"] >= bucket.start:
        return None
    check: dict[str, Any] = {
        "alert_id": alert.alert_id,
        "bucket_start": bucket.start,
        "bucket_end": bucket.end,
        "checked_at": now,
        "value": None,
        "error": None,
    }
    try:
        _, _, value = asyncio.run(alert_value(read, lake, _JOB, source, alert.definition, now))
    except TerminalError as error:  # a cohort gone, say: recorded, and the alert quiet
        return check | {"firing": False, "error": str(error)}
    return check | {"value": value, "firing": alert.definition.fires(value)}


def _news(alert: TrendAlert, check: Mapping[str, Any], now: datetime) -> list[dict[str, Any]]:
    """A delivery to each destination saying the alert started (or stopped) firing."""
    event = "firing" if check["firing"] else "resolved"
    return [
        {
            "delivery_id": _delivery_id(alert.alert_id, check["bucket_start"], event, name),
            "alert_id": alert.alert_id,
            "event": event,
            "bucket_start": check["bucket_start"],
            "value": check["value"],
            "destination": name,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for name in alert.definition.destinations
    ]


def _deliver_due(
    settings: AlertSettings,
    lake: Lakehouse,
    tables: AlertTables,
    alerts: Mapping[str, TrendAlert],
    now: datetime,
) -> list[dict[str, Any]]:
    """Try every delivery not settled, oldest first; one still unsettled holds back the later
    ones of its alert and destination."""
    unsettled = _rows(lake, tables.deliveries, ~pc.field("status").isin(list(SETTLED)))
    rows = sorted(unsettled, key=lambda r: (r["created_at"], r["event"]))
    webhooks = {webhook.name: webhook for webhook in settings.alert_webhooks}
    held_back: set[tuple[str, str]] = set()
    written = []
    for row in rows:
        route = (row["alert_id"], row["destination"])
        if route in held_back:
            continue
        row = row | {"last_attempt_at": now} | _attempt(settings, webhooks, alerts, row, now)
        written.append(row)
        if row["status"] not in SETTLED:
            held_back.add(route)
    if written:
        _write(lake, tables.deliveries, written, TREND_ALERT_DELIVERIES_SCHEMA, ["delivery_id"])
    return written


def _attempt(
    settings: AlertSettings,
    webhooks: Mapping[str, Webhook],
    alerts: Mapping[str, TrendAlert],
    row: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    alert = alerts.get(row["alert_id"])
    if alert is None:
        return {"status": "silenced", "error": "the alert was deleted"}
    if alert.snoozed(now):
        return {"status": "silenced", "error": f"snoozed until {alert.snoozed_until}"}
    webhook = webhooks.get(row["destination"])
    if webhook is None:
        return {
            "status": "dead",
            "error": f"no webhook `{row['destination']}` in the `alert_webhooks` setting now",
        }
    body = _payload(webhook, alert, row)
    return deliver(settings, webhook, row["delivery_id"], body, row)


def _payload(webhook: Webhook, alert: TrendAlert, row: Mapping[str, Any]) -> bytes:
    definition = alert.definition
    if webhook.format == "slack":
        watched = f"`{definition.name}` ({definition.line} {definition.condition} "
        watched += f"{definition.threshold:g})"
        value = "no value" if row["value"] is None else f"{row['value']:g}"
        zone = _zone(definition)
        start = row["bucket_start"].astimezone(zone)
        bucket = f"the {definition.trend.interval} from {start:%Y-%m-%d %H:%M} ({zone.key})"
        if row["event"] == "resolved":
            return orjson.dumps(
                {"text": f":white_check_mark: Resolved: {watched}: {value} in {bucket}."}
            )
        return orjson.dumps(
            {"text": f":rotating_light: Trend alert {watched}: {value} in {bucket}."}
        )
    return orjson.dumps(
        {
            "delivery_id": row["delivery_id"],
            "event": row["event"],
            "alert": {"id": alert.alert_id, **definition.model_dump(exclude_none=True)},
            "bucket_start": row["bucket_start"],
            "value": row["value"],
        },
        option=orjson.OPT_NAIVE_UTC,
    )


def _zone(alert: TrendAlertIn) -> ZoneInfo:
    # Saved with the product's reporting timezone when the request named none.
    return zone_of(alert.trend.timezone or "UTC")


def _delivery_id(alert_id: str, bucket: datetime, event: str, destination: str) -> str:
    key = f"{alert_id}|{bucket.isoformat()}|{event}|{destination}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _latest_checks(
    lake: Lakehouse, table: str, alerts: Sequence[TrendAlert], now: datetime
) -> dict[str, dict[str, Any]]:
    """Each alert's latest check. Only the checks since the bucket before the ones due now are
    read (older files are skipped by their statistics, so a run's cost follows the alerts, not
    the history); an alert with none there (new, or the job was down) has its older ones read."""
    if not alerts:
        return {}
    since = min(_bucket_before_due(alert, now) for alert in alerts)
    latest = _newest_each(_rows(lake, table, pc.field("bucket_start") >= since))
    missing = [alert.alert_id for alert in alerts if alert.alert_id not in latest]
    if missing:
        latest |= _newest_each(_rows(lake, table, pc.field("alert_id").isin(missing)))
    return latest


def _bucket_before_due(alert: TrendAlert, now: datetime) -> datetime:
    interval, zone = alert.definition.trend.interval, _zone(alert.definition)
    due = last_whole_bucket(interval, zone, now - SETTLE)
    return last_whole_bucket(interval, zone, due.start).start


def _newest_each(checks: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for row in checks:
        held = latest.get(row["alert_id"])
        if held is None or row["bucket_start"] > held["bucket_start"]:
            latest[row["alert_id"]] = dict(row)
    return latest


def _rows(lake: Lakehouse, table: str, where: pc.Expression) -> list[dict[str, Any]]:
    """The rows of `table` matching `where`, its files skipped by their statistics."""
    if not lake.exists(table):
        return []
    rows: list[dict[str, Any]] = lake.dataset(table).to_table(filter=where).to_pylist()
    return rows


def _write_rules(lake: Lakehouse, table: str, alerts: Sequence[TrendAlert]) -> None:
    rows = [
        {
            "alert_id": alert.alert_id,
            "name": alert.definition.name,
            "definition": alert.definition.model_dump_json(exclude={"name"}),
            "created_by": alert.created_by,
            "created_at": alert.created_at,
            "snoozed_until": alert.snoozed_until,
        }
        for alert in alerts
    ]
    _write(lake, table, rows, TREND_ALERTS_SCHEMA, ["alert_id"])


def _write(
    lake: Lakehouse,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    schema: pa.Schema,
    key: list[str] | None,
) -> None:
    """Append `rows` (or merge them on `key`), creating the table on first write."""
    written = pa.Table.from_pylist([{n: row.get(n) for n in schema.names} for row in rows], schema)
    if not lake.exists(table):
        lake.create(table, schema)
    if key is None:
        lake.append(table, written)
    else:
        lake.merge(table, written, key)


def trend_alerts_job(source_of: Callable[[JobContext[Any]], EventSource]) -> Job:
    """The job a product with insights runs: its trend alerts checked and their news sent
    every `alerts_every_seconds` (its settings are `AlertSettings`)."""

    def run(context: JobContext[Any]) -> Mapping[str, Any]:
        source = source_of(context)
        read = job_read(TableSnapshots(context.lake), source)
        return check_trend_alerts(context.settings, context.lake, read, source)

    return Job(
        name="check_trend_alerts",
        description="Check each trend alert's last whole interval against its threshold; send "
        "its firing and resolution to its webhooks, once each, unless snoozed.",
        run=run,
        every_setting="alerts_every_seconds",
    )
