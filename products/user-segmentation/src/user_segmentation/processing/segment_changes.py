"""gold.segment_changes: every entry into and exit from a rule segment, kept for good.

A person is in a segment while their latest change there is an `enter`. A run judges only the
(segment, person) pairs its inputs touched: the persons whose features row was written or
removed, in every live segment; and everyone, in the segments whose definition was created,
changed or deleted. It compares what the definitions now say of those pairs with their current
membership (their latest change in this table itself) and appends only the differences. A
deleted segment's members, and a person whose features row is gone, exit. The table is the
history; gold.segment_membership is its current state.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.processing import Input, Snapshot, python_model
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
    # Most ticks look up the changes of a few persons: kept together, they sit in few files.
    cluster_by=["person_id"],
    description="Every entry into (`enter`) and exit from (`exit`) a rule segment: when the run "
    "that saw it ran (`changed_at`), the features' as_of it judged, and the definition's version. "
    "Each run appends only the differences from the previous membership. A tick reads the "
    "gold.user_features rows gained and lost (the persons touched), those persons' current "
    "features, the definitions whole (a few rows) and this table's changes of those persons. A "
    "definition created, changed or deleted also reads every person's features and this table's "
    "changes of that segment (rare, and its members can be anyone).",
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
def segment_changes(features: Input, definitions: Input, this: Snapshot) -> pa.Table:
    scope = Scope(touched(features, "person_id"), touched(definitions, "segment_id"))
    return pa.Table.from_pylist(
        changes(scope, features, definitions.snapshot.read(), this, datetime.now(UTC)),
        SEGMENT_CHANGES_SCHEMA,
    )


@dataclass(frozen=True)
class Scope:
    """The pairs a run judges: `persons` in every segment, and everyone in `segments`."""

    persons: frozenset[str]
    segments: frozenset[str]


def touched(rows: Input, key: str) -> frozenset[str]:
    """The `key`s of the rows an input gained or lost since the last run (all on a full run)."""
    return frozenset(
        str(value)
        for table in (rows.new_rows, rows.lost_rows)
        for value in pc.unique(table[key]).to_pylist()
        if value is not None
    )


def changes(
    scope: Scope,
    features: Input,
    definitions: pa.Table,
    this: Snapshot,
    now: datetime,
) -> list[dict[str, Any]]:
    """The entries and exits that bring the membership of the pairs in `scope` to what the
    `definitions` say of the features now, stamped `now` (or just after the latest change of
    those pairs, so a change never ties with the one before it)."""
    history = pa.concat_tables(
        [
            this.rows_where("person_id", scope.persons),
            this.rows_where("segment_id", scope.segments),
        ]
    )
    theirs = features.snapshot.rows_where("person_id", scope.persons)
    # A definition's answer can be anyone, so judging one reads every person's features.
    everyone = features.snapshot.read() if scope.segments else theirs
    before = current_members(history)
    after: set[tuple[str, str]] = set()
    for row in definitions.to_pylist():
        if row["deleted_at"] is None:
            segment = row["segment_id"]
            node = parse_definition(json.loads(row["definition"]), f"segment {segment}")
            judged = everyone if segment in scope.segments else theirs
            after |= {(segment, person) for person in members(judged, node)}
    as_of = newest(rows["as_of"] for rows in (theirs, everyone, features.lost_rows))
    versions = definition_versions(definitions, history)
    stamp = next_stamp(history, now)
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


def next_stamp(history: pa.Table, now: datetime) -> datetime:
    """`now`, or just after the latest change read if the clock is behind it.

    Only the judged pairs' changes are read, but every change of each of them is (they are read
    by the pair's person or segment), so each pair's new change still comes after its previous
    one: the order gold.segment_membership reads a pair's changes in.
    """
    latest = pc.max(history["changed_at"]).as_py() if history.num_rows else None
    return now if latest is None else max(now, latest + timedelta(microseconds=1))


def newest(days: Iterable[pa.ChunkedArray]) -> date | None:
    """The latest of the features' as_of days read (None when no row was read)."""
    found = [day for day in (pc.max(column).as_py() for column in days) if day is not None]
    return max(found, default=None)


def definition_versions(definitions: pa.Table, history: pa.Table) -> dict[str, int]:
    """Each segment's definition version; a segment whose row is gone (no API call removes
    one) keeps the latest version its changes recorded, for its members' exits."""
    recorded: dict[str, int] = {}
    for row in history.select(["segment_id", "definition_version"]).to_pylist():
        segment, version = row["segment_id"], row["definition_version"]
        recorded[segment] = max(version, recorded.get(segment, version))
    defined = dict(
        zip(definitions["segment_id"].to_pylist(), definitions["version"].to_pylist(), strict=True)
    )
    return {**recorded, **defined}
