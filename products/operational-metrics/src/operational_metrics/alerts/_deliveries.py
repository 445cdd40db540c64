"""Which incident events still have to go where, sending them, and the record of each try.

A delivery is one event (`opened`, `resolved`) of one incident to one webhook, its id a hash of
the three, so a run never sends one twice once it is `delivered`: a receiver sees each alert
once (or again only if its answer was lost, with the same `X-Dataplatform-Delivery`). A
resolution waits for its opening to be delivered (or silenced, or dead). Incidents older than
`RECENT` are not looked at: an alert a week late helps no one.
"""

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.alerting import SETTLED, Webhook, deliver
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.jobs import Job, JobContext
from operational_metrics.alerts._webhooks import payload
from operational_metrics.settings import OperationalMetricsSettings
from operational_metrics.storage import (
    ALERT_DELIVERIES,
    ALERT_DELIVERIES_SCHEMA,
    ALERT_SILENCES,
)

RECENT = timedelta(days=7)
EVENTS = ("opened", "resolved")


def deliver_alerts(context: JobContext[OperationalMetricsSettings]) -> Mapping[str, Any]:
    """Send what is due, record every try; a summary of the statuses written."""
    settings, lake, now = context.settings, context.lake, datetime.now(UTC)
    incidents_table = context.table("gold.incidents")
    if not settings.alert_webhooks or not lake.exists(incidents_table):
        return {"webhooks": len(settings.alert_webhooks), "written": {}}
    deliveries = context.table(ALERT_DELIVERIES)
    held = _rows_by(lake, deliveries, "delivery_id")
    silences = _active(lake, context.table(ALERT_SILENCES), now)
    written: list[dict[str, Any]] = []
    for incident in _recent_incidents(lake, incidents_table, now):
        for webhook in settings.alert_webhooks:
            for event in _events_of(incident):
                delivery_id = _delivery_id(incident["incident_id"], event, webhook.name)
                before = held.get(delivery_id)
                if before is not None and before["status"] in SETTLED:
                    continue
                row = _deliver(settings, webhook, delivery_id, event, incident, before, silences)
                written.append(row)
                if row["status"] not in SETTLED:
                    break  # a resolution waits for its opening
    if written:
        rows = pa.Table.from_pylist(written, ALERT_DELIVERIES_SCHEMA)
        if lake.exists(deliveries):
            lake.merge(deliveries, rows, ["delivery_id"])
        else:
            lake.create(deliveries, ALERT_DELIVERIES_SCHEMA)
            lake.append(deliveries, rows)
    statuses = [row["status"] for row in written]
    return {
        "webhooks": len(settings.alert_webhooks),
        "written": {s: statuses.count(s) for s in set(statuses)},
    }


def _deliver(
    settings: OperationalMetricsSettings,
    webhook: Webhook,
    delivery_id: str,
    event: str,
    incident: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    silences: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    now = datetime.now(UTC)
    row = {
        "delivery_id": delivery_id,
        "incident_id": incident["incident_id"],
        "event": event,
        "destination": webhook.name,
        "product": incident["product"],
        "slo": incident["slo"],
        "severity": incident["severity"],
        "first_attempt_at": before["first_attempt_at"] if before else now,
        "last_attempt_at": now,
    }
    if any(_covers(silence, incident) for silence in silences):
        return row | {"status": "silenced", "attempts": 0, "delivered_at": None}
    body = payload(webhook, delivery_id, event, incident)
    return row | deliver(settings, webhook, delivery_id, body, before)


def _events_of(incident: Mapping[str, Any]) -> list[str]:
    return ["opened", "resolved"] if incident["resolved_at"] is not None else ["opened"]


def _delivery_id(incident_id: str, event: str, destination: str) -> str:
    return hashlib.sha256(f"{incident_id}|{event}|{destination}".encode()).hexdigest()[:32]


def _covers(silence: Mapping[str, Any], incident: Mapping[str, Any]) -> bool:
    return all(silence[key] in (None, incident[key]) for key in ("product", "slo"))


def _recent_incidents(lake: Lakehouse, table: str, now: datetime) -> list[dict[str, Any]]:
    rows = lake.read(table)
    recent = pc.greater_equal(
        rows["last_evaluated_at"], pa.scalar(now - RECENT, rows["last_evaluated_at"].type)
    )
    return sorted(rows.filter(recent).to_pylist(), key=lambda r: (r["opened_at"], r["incident_id"]))


def _rows_by(lake: Lakehouse, table: str, key: str) -> dict[str, dict[str, Any]]:
    if not lake.exists(table):
        return {}
    return {row[key]: row for row in lake.read(table).to_pylist()}


def _active(lake: Lakehouse, table: str, now: datetime) -> list[dict[str, Any]]:
    if not lake.exists(table):
        return []
    return [row for row in lake.read(table).to_pylist() if row["starts_at"] <= now < row["ends_at"]]


DELIVER_ALERTS = Job(
    name="deliver_alerts",
    description="Send incidents' openings and resolutions to the alert webhooks, once each, "
    "unless silenced; record every delivery in gold.alert_deliveries.",
    run=deliver_alerts,
    every_setting="alerts_every_seconds",
)
