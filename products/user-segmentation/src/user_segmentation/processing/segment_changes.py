"""gold.segment_changes: every entry into and exit from a rule segment, kept for good.

Each run evaluates every rule segment's filter against the current features, compares the
members with the previous membership (read from this table itself: a person is a member while
their latest change is an `enter`) and appends only the differences. A deleted segment's
members all exit. The table is the history; gold.segment_membership is its current state.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.processing import Snapshot, python_model
from user_segmentation.rules import members, parse_definition

_TIME = pa.timestamp("us", tz="UTC")
SEGMENT_CHANGES_SCHEMA = pa.schema(
    [
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("change", pa.string(), nullable=False),
        pa.field("changed_at", _TIME, nullable=False),
        pa.field("as_of", pa.date32()),  # the features' as_of: a UTC day
        pa.field("definition_version", pa.int64(), nullable=False),
    ]
)
ENTER, EXIT = "enter", "exit"


@python_model(
    name="gold.segment_changes",
    materialized="append",
    # The whole of both inputs on every run: membership is judged on all current features.
    incremental=False,
    description="Every entry into (`enter`) and exit from (`exit`) a rule segment: when the run "
    "that saw it ran (`changed_at`), the features' as_of it judged, and the definition's version. Each "
    "run appends only the differences from the previous membership.",
    columns={
        "segment_id": {"description": "The rule segment."},
        "person_id": {"description": "The person.", "tags": ["pii"]},
        "change": {"description": "enter or exit."},
        "changed_at": {"description": "When the run that saw the change ran."},
        "as_of": {
            "description": "as_of of the features it judged (the UTC day of their newest event)."
        },
        "definition_version": {"description": "Version of the definition it judged."},
    },
    checks=[{"check": "accepted_values", "column": "change", "values": [ENTER, EXIT]}],
    inputs=["gold.user_features", "gold.segment_definitions"],
    schema=SEGMENT_CHANGES_SCHEMA,
    lineage={
        "segment_id": ["gold.segment_definitions.segment_id"],
        "person_id": ["gold.user_features.person_id"],
        "as_of": ["gold.user_features.as_of"],
        "definition_version": ["gold.segment_definitions.version"],
    },
)
def segment_changes(features: pa.Table, definitions: pa.Table, this: Snapshot) -> pa.Table:
    return pa.Table.from_pylist(
        changes(features, definitions.to_pylist(), this.read(), datetime.now(UTC)),
        SEGMENT_CHANGES_SCHEMA,
    )


def changes(
    features: pa.Table, definitions: list[dict[str, Any]], history: pa.Table, now: datetime
) -> list[dict[str, Any]]:
    """The entries and exits that bring `history`'s membership to what the definitions say of
    `features`, stamped `now` (or just after the latest change, so a change never ties)."""
    before = current_members(history)
    latest = pc.max(history["changed_at"]).as_py() if history.num_rows else None
    stamp = max(now, latest + timedelta(microseconds=1)) if latest is not None else now
    as_of = pc.max(features["as_of"]).as_py() if features.num_rows else None
    versions = {row["segment_id"]: row["version"] for row in definitions}
    after: set[tuple[str, str]] = set()
    for row in definitions:
        if row["deleted_at"] is None:
            node = parse_definition(json.loads(row["definition"]), f"segment {row['segment_id']}")
            after |= {(row["segment_id"], person) for person in members(features, node)}
    stamped = [(ENTER, pair) for pair in after - before] + [(EXIT, pair) for pair in before - after]
    return [
        {
            "segment_id": segment,
            "person_id": person,
            "change": change,
            "changed_at": stamp,
            "as_of": as_of,
            "definition_version": versions[segment],
        }
        for change, (segment, person) in sorted(stamped, key=lambda item: (item[1], item[0]))
    ]


def current_members(history: pa.Table) -> set[tuple[str, str]]:
    """(segment_id, person_id) of every pair whose latest change is an entry."""
    latest: dict[tuple[str, str], tuple[datetime, str]] = {}
    for row in history.select(["segment_id", "person_id", "change", "changed_at"]).to_pylist():
        pair = (row["segment_id"], row["person_id"])
        if pair not in latest or row["changed_at"] > latest[pair][0]:
            latest[pair] = (row["changed_at"], row["change"])
    return {pair for pair, (_, change) in latest.items() if change == ENTER}
