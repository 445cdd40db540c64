"""Cohorts: saved groups of people, by what they did and which segment they are in.

A cohort holds the people for whom every criterion holds at an instant: each `performed`
criterion (at least N of an event in the N days before), each segment (today's members of
user-segmentation's rule segment, matched through its identity graph to the ids this product
counts people by; membership has no history, so it is today's at every instant), and each
property it `has` (the latest value set on them, today's at every instant too). Definitions
are kept in the product's own Delta table (`COHORTS_SCHEMA`).

In SQL, a cohort is CTEs over a spine of instants (`<name>_spine(as_of)`) ending in
`<name>_members(as_of, person)`: a trend filtered by a cohort uses one instant (its period's end),
a cohort's size over time one per interval.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

import orjson
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dataplatform.core.access import Principal, product_permission
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import NotFoundError, PermissionDeniedError, did_you_mean
from dataplatform.core.insights._filters import match_sql, person_property_sql
from dataplatform.core.insights._queries import EventMatch, PropertyFilter
from dataplatform.core.insights._source import PERSONS_ALIAS, EventSource, Segments

_TIME = pa.timestamp("us", tz="UTC")
COHORTS_SCHEMA = pa.schema(
    [
        pa.field("cohort_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("description", pa.string(), nullable=False),
        pa.field("definition", pa.string(), nullable=False),  # JSON: `CohortIn`'s criteria
        pa.field("created_by", pa.string(), nullable=False),
        pa.field("created_at", _TIME, nullable=False),
    ]
)
MAX_DAYS = 3650


class Performed(EventMatch):
    """Did the matching events at least `at_least` times in the `in_last_days` days before."""

    at_least: int = Field(1, ge=1, le=1_000_000)
    in_last_days: int = Field(30, ge=1, le=MAX_DAYS)


class CohortIn(BaseModel):
    """A cohort to save: every criterion must hold."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    performed: Annotated[list[Performed], Field(max_length=10)] = []
    segments: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=10)
    ] = Field([], description="Rule segments (ids) of user-segmentation the people are in now.")
    has: Annotated[list[PropertyFilter], Field(max_length=10)] = Field(
        [],
        description="Properties set on the people: the latest value of each passes its filter "
        "(read as a person property whatever its `type`; only people on whom it was ever set).",
    )

    @model_validator(mode="after")
    def _something_to_hold(self) -> Self:
        if not self.performed and not self.segments and not self.has:
            raise ValueError(
                "a cohort needs at least one `performed` criterion, segment or `has` property"
            )
        return self


@dataclass(frozen=True)
class Cohort:
    cohort_id: str
    definition: CohortIn
    created_by: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.cohort_id,
            **self.definition.model_dump(exclude_none=True),
            "created_by": self.created_by,
            "created_at": self.created_at,
        }


def save_cohort(lake: Lakehouse, table: str, cohort: CohortIn, by: str) -> Cohort:
    saved = Cohort(uuid.uuid4().hex[:12], cohort, by, datetime.now(UTC))
    row = {
        "cohort_id": saved.cohort_id,
        "name": cohort.name,
        "description": cohort.description,
        "definition": cohort.model_dump_json(include={"performed", "segments", "has"}),
        "created_by": by,
        "created_at": saved.created_at,
    }
    lake.append(table, pa.Table.from_pylist([row], COHORTS_SCHEMA))
    return saved


def saved_cohorts(lake: Lakehouse, table: str) -> list[Cohort]:
    """Every saved cohort, oldest first (the table is a handful of rows)."""
    if not lake.exists(table):
        return []
    rows = sorted(lake.read(table).to_pylist(), key=lambda r: (r["created_at"], r["cohort_id"]))
    return [
        Cohort(
            row["cohort_id"],
            CohortIn.model_validate(
                {
                    "name": row["name"],
                    "description": row["description"],
                    **orjson.loads(row["definition"]),
                }
            ),
            row["created_by"],
            row["created_at"],
        )
        for row in rows
    ]


def find_cohort(lake: Lakehouse, table: str, cohort_id: str, field: str) -> Cohort:
    """The cohort `cohort_id`; a 404 naming `field` and the cohorts there are otherwise."""
    cohorts = {cohort.cohort_id: cohort for cohort in saved_cohorts(lake, table)}
    if cohort_id not in cohorts:
        raise NotFoundError(
            f"No cohort `{cohort_id}` (`{field}`); GET .../insights/cohorts lists them."
            f"{did_you_mean(cohort_id, cohorts)}"
        )
    return cohorts[cohort_id]


@dataclass(frozen=True)
class CohortSql:
    """A cohort's CTEs, the tables they read besides the events, and how far back they look."""

    sql: str
    params: Mapping[str, Any]
    tables: Mapping[str, str]
    lookback: timedelta


def members_sql(
    source: EventSource,
    cohort: CohortIn,
    name: str,
    spine: Sequence[datetime],
    caller: Principal,
) -> CohortSql:
    """CTEs ending in `<name>_members(as_of, person)`: the cohort's people at each instant of
    `spine` (each instant excluded from the window before it)."""
    params: dict[str, Any] = {}
    params[f"{name}_spine"] = [at.astimezone(UTC).replace(tzinfo=None) for at in spine]
    ctes = [f"{name}_spine as (select unnest(${name}_spine::timestamp[]) as as_of)"]
    parts: list[str] = []
    tables: dict[str, str] = {}
    time = f'"{source.time}"'
    for index, performed in enumerate(cohort.performed):
        key = f"{name}_p{index}"
        conditions = [f"({source.rows})", match_sql(source, performed, f"{key}_f", params)]
        params[f"{key}_days"] = performed.in_last_days
        params[f"{key}_at_least"] = performed.at_least
        ctes.append(
            f"""{key} as (
    select s.as_of, {source.person} as person
    from {name}_spine as s
    join e on {time} >= s.as_of - to_days(${key}_days) and {time} < s.as_of
    where {" and ".join(conditions)}
    group by s.as_of, person
    having count(*) >= ${key}_at_least
)"""
        )
        parts.append(key)
    if cohort.segments:
        segments = segments_of(source, caller)
        tables = {
            f"{name}_graph": segments.identity_graph,
            f"{name}_members_now": segments.membership,
        }
        for index, segment in enumerate(cohort.segments):
            key = f"{name}_s{index}"
            params[key] = segment
            ctes.append(
                f"""{key} as (
    select s.as_of, g.identifier as person
    from {name}_spine as s
    cross join {name}_graph as g
    join {name}_members_now as m on m.person_id = g.person_id
    where m.segment_id = ${key}
)"""
            )
            parts.append(key)
    for index, condition in enumerate(cohort.has):
        key = f"{name}_h{index}"
        ctes.append(
            f"""{key} as (
    select s.as_of, p.person_id as person
    from {name}_spine as s
    cross join {PERSONS_ALIAS} as p
    where {person_property_sql(source, condition, key, params)}
)"""
        )
        parts.append(key)
    ctes.append(
        f"{name}_members as ("
        + " intersect ".join(f"select as_of, person from {part}" for part in parts)
        + ")"
    )
    lookback = max((timedelta(days=p.in_last_days) for p in cohort.performed), default=timedelta())
    return CohortSql(",\n".join(ctes), params, tables, lookback)


def cohorts_table(source: EventSource) -> str:
    """Where `source`'s product keeps its cohorts; a 404 when it keeps none."""
    if source.cohorts is None:
        raise NotFoundError("This product keeps no cohorts.")
    return source.cohorts


def segments_of(source: EventSource, caller: Principal) -> Segments:
    if source.segments is None:
        raise NotFoundError("This product's events are matched to no segments; drop `segments`.")
    needed = product_permission(source.segments.product, "read")
    if not caller.can(needed):
        raise PermissionDeniedError(
            f"`{caller.subject}` lacks `{needed}`, which a cohort of segments needs."
        )
    return source.segments
