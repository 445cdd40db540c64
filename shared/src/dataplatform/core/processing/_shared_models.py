"""Models more than one product computes, declared once here as templates; each product
instantiates them over its own input tables (its `processing` lists the instance)."""

from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.processing._models import PythonModel, SqlModel, python_model
from dataplatform.core.processing._snapshots import Snapshot
from dataplatform.core.processing._templates import load_sql_template

SHARED_MODELS = Path(__file__).parent / "shared_models"


def identity_links_model(events: str, anonymous_id_of: str) -> SqlModel:
    """`gold.identity_links`: the user and anonymous ids seen together in `events`.

    `events` is the product's table of envelope events (`<layer>.<table>`: `user_id`,
    `anonymous_id`, `type`, `properties`, `timestamp`); `anonymous_id_of` names whose anonymous
    ids they are, for the header's descriptions: `an install`, `a browser`.
    """
    return load_sql_template(
        SHARED_MODELS / "gold_identity_links.sql.jinja",
        {"events": events, "anonymous_id_of": anonymous_id_of},
    )


PERSON_PROPERTIES_SCHEMA = pa.schema(
    [
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("property", pa.string(), nullable=False),
        pa.field("value", pa.string()),  # as events' JSON text reads: `pro`, `3`, `true`
        pa.field("set_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def person_properties_model(events: str) -> PythonModel:
    """`silver.person_properties`: each person's latest value of each property set on them, by
    an identify call's traits or PostHog's `$set` on any event, from `events` (the product's
    envelope events). Python, because a trait's keys are data: SQL cannot list a JSON object's
    keys in both DuckDB and Spark. A tick reads the events it gained and the rows held of the
    people they set; a late value older than the one held does not replace it."""

    @python_model(
        name="silver.person_properties",
        materialized="merge",
        unique_key=["person_id", "property"],
        cluster_by=["person_id"],
        description="Each person's latest value of each property set on them (identify traits, "
        "PostHog's `$set`), for insights' person filters: one row per person and property. "
        "The person is the user id, else the anonymous id, as insights count people.",
        columns={
            "person_id": {"description": "The user id, else the anonymous id.", "tags": ["pii"]},
            "property": {"description": "The trait's key as sent (`plan`, `email`)."},
            "value": {
                "description": "Its latest value, as text (JSON for lists and objects).",
                "tags": ["pii"],
            },
            "set_at": {"description": "When the event that set it happened."},
        },
        inputs=[events],
        schema=PERSON_PROPERTIES_SCHEMA,
        lineage={
            "person_id": [f"{events}.user_id", f"{events}.anonymous_id"],
            "property": [f"{events}.properties", f"{events}.context"],
            "value": [f"{events}.properties", f"{events}.context"],
            "set_at": [f"{events}.timestamp"],
        },
    )
    def person_properties(new_events: pa.Table, this: Snapshot) -> pa.Table:
        latest = _latest_set(new_events)
        held = this.rows_where("person_id", sorted({person for person, _ in latest}))
        for row in held.to_pylist():
            newer = latest.get((row["person_id"], row["property"]))
            if newer is not None and newer["set_at"] < row["set_at"]:
                del latest[(row["person_id"], row["property"])]
        return pa.Table.from_pylist(list(latest.values()), PERSON_PROPERTIES_SCHEMA)

    return person_properties


def _latest_set(events: pa.Table) -> dict[tuple[str, str], dict[str, Any]]:
    """(person, property) -> the latest row setting it among `events`: an identify's traits
    (its `properties`), or PostHog's `$set`, which the collector keeps in `context`."""
    setting = pc.or_(
        pc.equal(events["type"], "identify"),
        pc.match_substring(events["context"].fill_null(""), '"$set"'),
    )
    columns = ["user_id", "anonymous_id", "type", "context", "properties", "timestamp"]
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events.filter(setting).select(columns).to_pylist():
        person = event["user_id"] or event["anonymous_id"]
        if event["type"] == "identify":
            traits = orjson.loads(event["properties"] or "{}")
        else:
            traits = orjson.loads(event["context"] or "{}").get("$set")
        if person is None or not isinstance(traits, dict):
            continue
        for name, value in traits.items():
            held = latest.get((person, name))
            if held is None or held["set_at"] <= event["timestamp"]:
                latest[(person, name)] = {
                    "person_id": person,
                    "property": name,
                    "value": _as_text(value),
                    "set_at": event["timestamp"],
                }
    return latest


def _as_text(value: Any) -> str | None:
    """A value as insights compare it: strings as they are, anything else as JSON text."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()
