"""Burn-rate incidents: each SLO's fast and slow alerts, opened and resolved step by step.

An alert fires when the error budget burns faster than its rate over both its long and its short
window (the SRE workbook's multi-window alerts); its incident opens at that step and stays open
until the short window's burn rate falls below the rate. Steps arrive in batches, and the latest
minute again and again while it fills up; an incident is judged only on steps at or after the
last one it saw, so a step seen before never reopens or rewinds it.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.processing import Snapshot, python_model

SEVERITIES = ("fast", "slow")
_TIME = pa.timestamp("us", tz="UTC")
INCIDENTS_SCHEMA = pa.schema(
    [
        pa.field("incident_id", pa.string(), nullable=False),
        pa.field("product", pa.string(), nullable=False),
        pa.field("slo", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("state", pa.string(), nullable=False),
        pa.field("opened_at", _TIME, nullable=False),
        pa.field("resolved_at", _TIME),
        pa.field("burn_rate", pa.float64(), nullable=False),
        pa.field("long_burn_at_open", pa.float64()),
        pa.field("short_burn_at_open", pa.float64()),
        pa.field("peak_long_burn", pa.float64()),
        pa.field("peak_short_burn", pa.float64()),
        pa.field("short_burn_at_resolve", pa.float64()),
        pa.field("last_evaluated_at", _TIME, nullable=False),
    ]
)

Incident = dict[str, Any]
Step = Mapping[str, Any]


@python_model(
    name="gold.incidents",
    materialized="merge",
    unique_key=["incident_id"],
    description=(
        "Burn-rate incidents of every SLO: severity fast or slow, opened at the step (UTC minute) "
        "where both of the alert's windows burned over its rate, resolved at the first step "
        "where the short window burned below it; with the burn rates seen at opening, at their "
        "peak and at resolution."
    ),
    inputs=["gold.slo_minutes"],
    schema=INCIDENTS_SCHEMA,
    lineage={
        "product": ["gold.slo_minutes.product"],
        "slo": ["gold.slo_minutes.slo"],
        "opened_at": ["gold.slo_minutes.minute", "gold.slo_minutes.fast_firing"],
        "resolved_at": ["gold.slo_minutes.minute", "gold.slo_minutes.fast_resolved"],
        "burn_rate": ["gold.slo_minutes.fast_burn_rate", "gold.slo_minutes.slow_burn_rate"],
        "long_burn_at_open": ["gold.slo_minutes.fast_long_burn", "gold.slo_minutes.slow_long_burn"],
        "short_burn_at_open": [
            "gold.slo_minutes.fast_short_burn",
            "gold.slo_minutes.slow_short_burn",
        ],
        "peak_long_burn": ["gold.slo_minutes.fast_long_burn", "gold.slo_minutes.slow_long_burn"],
        "peak_short_burn": [
            "gold.slo_minutes.fast_short_burn",
            "gold.slo_minutes.slow_short_burn",
        ],
        "short_burn_at_resolve": [
            "gold.slo_minutes.fast_short_burn",
            "gold.slo_minutes.slow_short_burn",
        ],
    },
)
def incidents(slo_minutes: pa.Table, this: Snapshot) -> pa.Table:
    """The incidents the new steps opened or changed, to merge over those held (read only for
    the SLOs the steps are of)."""
    held = this.rows_where("slo", pc.unique(slo_minutes["slo"]))
    latest = latest_incidents(held.to_pylist())
    changed: dict[str, Incident] = {}
    for step in sorted(slo_minutes.to_pylist(), key=lambda s: s["minute"]):
        for severity in SEVERITIES:
            key = (step["product"], step["slo"], severity)
            advanced = advance(latest.get(key), step, severity)
            if advanced is not None:
                latest[key] = changed[advanced["incident_id"]] = advanced
    return pa.Table.from_pylist(list(changed.values()), INCIDENTS_SCHEMA)


def latest_incidents(held: Iterable[Incident]) -> dict[tuple[str, str, str], Incident]:
    """The newest incident of each SLO and severity."""
    latest: dict[tuple[str, str, str], Incident] = {}
    for incident in sorted(held, key=lambda i: i["opened_at"]):
        latest[(incident["product"], incident["slo"], incident["severity"])] = incident
    return latest


def advance(incident: Incident | None, step: Step, severity: str) -> Incident | None:
    """The incident after judging `step`, or None when the step changes nothing.

    `incident` is the SLO's newest incident of this severity, if any.
    """
    minute: datetime = step["minute"]
    long_burn = step[f"{severity}_long_burn"]
    short_burn = step[f"{severity}_short_burn"]
    if incident is not None and incident["state"] == "open":
        if minute < incident["last_evaluated_at"]:
            return None
        if step[f"{severity}_resolved"]:
            return {
                **incident,
                "state": "resolved",
                "resolved_at": minute,
                "short_burn_at_resolve": short_burn,
                "last_evaluated_at": minute,
            }
        return {
            **incident,
            "peak_long_burn": _highest(incident["peak_long_burn"], long_burn),
            "peak_short_burn": _highest(incident["peak_short_burn"], short_burn),
            "last_evaluated_at": minute,
        }
    if incident is not None and minute <= incident["resolved_at"]:
        return None
    if not step[f"{severity}_firing"]:
        return None
    return {
        "incident_id": f"{step['product']}/{step['slo']}/{severity}/{minute:%Y-%m-%dT%H:%MZ}",
        "product": step["product"],
        "slo": step["slo"],
        "severity": severity,
        "state": "open",
        "opened_at": minute,
        "resolved_at": None,
        "burn_rate": step[f"{severity}_burn_rate"],
        "long_burn_at_open": long_burn,
        "short_burn_at_open": short_burn,
        "peak_long_burn": long_burn,
        "peak_short_burn": short_burn,
        "short_burn_at_resolve": None,
        "last_evaluated_at": minute,
    }


def _highest(held: float | None, seen: float | None) -> float | None:
    return max((v for v in (held, seen) if v is not None), default=None)
