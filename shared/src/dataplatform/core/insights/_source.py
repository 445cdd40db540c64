"""Where a product's events are, for insights, and how a property name becomes SQL."""

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
from fastapi import Request

from dataplatform.core.access import Principal
from dataplatform.core.errors import InvalidRequestError
from dataplatform.core.serving import TableSnapshots, gold_rows, lake_rows


@dataclass(frozen=True)
class Segments:
    """Where a product finds segment members: user-segmentation's published tables."""

    product: str
    membership: str
    identity_graph: str


# What a person filter's subquery calls the product's person properties.
PERSONS_ALIAS = "person_properties"


@dataclass(frozen=True)
class AlertTables:
    """Where a product keeps its trend alerts, their checks and their deliveries."""

    rules: str
    checks: str
    deliveries: str


@dataclass(frozen=True)
class EventSource:
    """A product's events, one row per event, and what its columns mean to insights.

    `person`, `event` and `rows` are SQL over the table's columns: who did it (the user when
    known, else the device or browser), the event's name as insights show it, and which rows
    are events at all; `step` names an event as a step of a path (a page's path, a screen).
    `columns` names the properties kept in typed columns, as SQL too
    (`$browser` -> `browser`); any other property is read from the JSON text in `properties`.
    """

    table: str
    person: str
    event: str = "event"
    time: str = "timestamp"
    properties: str = "properties"
    rows: str = "true"
    step: str = "event"
    columns: Mapping[str, str] = field(default_factory=dict)
    # The product's table of saved cohorts (`COHORTS_SCHEMA`), and where segment members are.
    cohorts: str | None = None
    segments: Segments | None = None
    alerts: AlertTables | None = None
    # The product's `silver.person_properties`: the latest value of each property of a person
    # (keyed by the ids `person` gives), for filters of `type` `person`.
    persons: str | None = None

    def property_sql(self, name: str) -> str:
        """SQL reading property `name` of an event as text (null when the event has none)."""
        if name in self.columns:
            return f"cast(({self.columns[name]}) as varchar)"
        return f"json_extract_string({_quoted(self.properties)}, {_json_path(name)})"


# How insights read events: `sql` with `params` over the events as `e` (and `also`'s tables,
# alias -> name), from `since` to `until`.
EventRead = Callable[
    [str, Mapping[str, Any], datetime, datetime, Mapping[str, str] | None],
    Awaitable[Sequence[Mapping[str, Any]]],
]


def caller_read(request: Request, caller: Principal, source: EventSource) -> EventRead:
    """Reading `source`'s events for `caller`, as `read_events` does."""

    async def read(
        sql: str,
        params: Mapping[str, Any],
        since: datetime,
        until: datetime,
        also: Mapping[str, str] | None,
    ) -> Sequence[Mapping[str, Any]]:
        return await read_events(request, caller, source, sql, params, since, until, also)

    return read


def job_read(snapshots: TableSnapshots, source: EventSource) -> EventRead:
    """Reading `source`'s events for a job (`lake_rows`: not masked, so only what it counts
    may leave it)."""

    async def read(
        sql: str,
        params: Mapping[str, Any],
        since: datetime,
        until: datetime,
        also: Mapping[str, str] | None,
    ) -> Sequence[Mapping[str, Any]]:
        tables = tables_of(source, sql, also)
        within = {"e": {source.time: (since, until)}}
        return await anyio.to_thread.run_sync(
            functools.partial(lake_rows, snapshots, sql, tables, params, within=within)
        )

    return read


async def read_events(
    request: Request,
    caller: Principal,
    source: EventSource,
    sql: str,
    params: Mapping[str, Any],
    since: datetime,
    until: datetime,
    also: Mapping[str, str] | None = None,
) -> list[Mapping[str, Any]]:
    """`sql` over `source`'s events as `e` (and `also`'s tables, alias -> name), reading only
    the files whose times can fall from `since` to `until`; masked and audited by `gold_rows`."""
    return await gold_rows(
        request,
        caller,
        sql,
        tables_of(source, sql, also),
        params,
        within={"e": {source.time: (since, until)}},
    )


def tables_of(source: EventSource, sql: str, also: Mapping[str, str] | None) -> dict[str, str]:
    """The tables `sql` reads: the events as `e`, `also`'s, and the person properties when a
    person filter names them, and only then: an answer without one neither waits for that
    table to exist nor is asked again each time a trait is set."""
    tables = {"e": source.table, **(also or {})}
    if source.persons is not None and f" {PERSONS_ALIAS} as p" in sql:
        tables[PERSONS_ALIAS] = source.persons
    return tables


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _json_path(name: str) -> str:
    """A JSON path to the top-level key `name`, as a SQL string (names are checked to hold no
    quote, backslash or control character, so the key needs no escaping inside the path)."""
    if any(char in name for char in '"\\') or any(ord(char) < 32 for char in name):
        raise InvalidRequestError(
            f"Property name {name!r} holds a quote, a backslash or a control character; "
            "properties are named by their key as sent, without these.",
            field="property",
        )
    return "'$.\"" + name.replace("'", "''") + "\"'"
