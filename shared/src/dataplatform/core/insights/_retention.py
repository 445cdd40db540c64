"""Retention (of any start event to any return event, for everyone or by cohort) and a cohort's
size over time.

Retention groups people by the interval (day, week from Monday, month, in the timezone) of
their first start event in the period; for each group it counts who did the return event in
that same interval (0) and in each of the `periods` after it. Counts are of people, in DuckDB.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Request
from pydantic import Field

from dataplatform.core.access import Principal
from dataplatform.core.insights._cohorts import (
    Cohort,
    CohortSql,
    cohorts_table,
    find_cohort,
    members_sql,
)
from dataplatform.core.insights._filters import match_sql
from dataplatform.core.insights._periods import Period, local_time_sql, zone_of
from dataplatform.core.insights._queries import EventMatch, PeriodQuery
from dataplatform.core.insights._source import EventSource, read_events
from dataplatform.core.serving import lake_of

CalendarInterval = Literal["day", "week", "month"]
_DIFF = {
    "day": "date_diff('day', f.first, r.bucket)",
    "week": "date_diff('day', f.first, r.bucket) // 7",
    "month": "date_diff('month', f.first, r.bucket)",
}
_LONGEST = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=31)}


class RetentionQuery(PeriodQuery):
    """Who came back: `start` starts a person's group, `returning` counts as coming back."""

    start: EventMatch
    returning: EventMatch
    interval: CalendarInterval = "week"
    periods: int = Field(8, ge=1, le=60, description="Intervals after the first one counted.")
    cohorts: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=5)] = Field(
        [],
        description="Saved cohorts, each a retention table of its own (people in it at the "
        "period's end); everyone when none.",
    )


class SizesQuery(PeriodQuery):
    interval: CalendarInterval = "day"


async def retention(
    request: Request,
    caller: Principal,
    source: EventSource,
    query: RetentionQuery,
    timezone: str,
) -> dict[str, Any]:
    period = Period.parse(
        query.since, query.until, query.interval, zone_of(query.timezone or timezone)
    )
    groups: list[tuple[Cohort | None, CohortSql | None]] = [(None, None)]
    if query.cohorts:
        lake, table = lake_of(request), cohorts_table(source)
        groups = []
        for index, cohort_id in enumerate(query.cohorts):
            saved = find_cohort(lake, table, cohort_id, f"body.cohorts.{index}")
            groups.append((saved, members_sql(source, saved.definition, "c", [period.end], caller)))
    tables: list[dict[str, Any]] = []
    every_row: list[dict[str, Any]] = []
    for cohort, members in groups:
        rows = await _retention_rows(request, caller, source, query, period, members)
        name = cohort.definition.name if cohort else None
        retained = _table(rows, period, query.periods)
        tables.append(
            {"cohort": cohort.cohort_id if cohort else None, "name": name, "rows": retained}
        )
        every_row += [{"cohort": name or "everyone", **row} for row in retained]
    return {
        "query": query.model_dump(by_alias=True, exclude_none=True),
        "from": period.start,
        "to": period.end,
        "timezone": period.zone.key,
        "interval": query.interval,
        "groups": tables,
        "rows": every_row,  # every group's rows in one list, for a table
    }


async def _retention_rows(
    request: Request,
    caller: Principal,
    source: EventSource,
    query: RetentionQuery,
    period: Period,
    members: CohortSql | None,
) -> list[Mapping[str, Any]]:
    returns_until = period.end + _LONGEST[query.interval] * (query.periods + 1)
    params: dict[str, Any] = {
        "start": period.start,
        "end": period.end,
        "returns_until": returns_until,
        "periods": query.periods,
    }
    starting = match_sql(source, query.start, "s", params)
    returning = match_sql(source, query.returning, "r", params)
    in_cohort = ""
    before = ""
    also: dict[str, str] = {}
    first = period.start
    if members is not None:
        params.update(members.params)
        before = f"{members.sql},\n"
        in_cohort = "where person in (select person from c_members)"
        also = dict(members.tables)
        first = min(first, period.end - members.lookback)
    unit = query.interval
    time = f'"{source.time}"'
    local = local_time_sql(time, period.zone, first, returns_until, params)
    sql = f"""with {before}firsts as (
    select person, min(bucket) as first
    from (
        select {source.person} as person, cast(date_trunc('{unit}', {local}) as date) as bucket
        from e
        where {time} >= $start and {time} < $end and ({source.rows}) and {starting}
    )
    {in_cohort}
    group by person
),
returns as (
    select distinct {source.person} as person, cast(date_trunc('{unit}', {local}) as date) as bucket
    from e
    where {time} >= $start and {time} < $returns_until and ({source.rows}) and {returning}
)
select first, -1 as k, count(*) as people from firsts group by first
union all
select first, k, count(distinct person) as people
from (
    select f.first, f.person, {_DIFF[unit]} as k
    from firsts as f
    join returns as r on r.person = f.person and r.bucket >= f.first
)
where k <= $periods
group by first, k
order by first, k"""
    return await read_events(request, caller, source, sql, params, first, returns_until, also)


def _table(rows: list[Mapping[str, Any]], period: Period, periods: int) -> list[dict[str, Any]]:
    """One row per start interval of the period: its people, and who returned in each interval."""
    people: dict[date, int] = {}
    returned: dict[date, list[int]] = {}
    for row in rows:
        if row["k"] < 0:
            people[row["first"]] = row["people"]
        else:
            returned.setdefault(row["first"], [0] * (periods + 1))[row["k"]] = row["people"]
    return [
        {
            "start": period.label(bucket),
            "people": people.get(bucket, 0),
            "returned": returned.get(bucket, [0] * (periods + 1)),
        }
        for bucket in period.buckets
    ]


async def cohort_sizes(
    request: Request,
    caller: Principal,
    source: EventSource,
    cohort_id: str,
    query: SizesQuery,
    timezone: str,
) -> dict[str, Any]:
    """How many people the cohort held at the end of each interval of the period."""
    period = Period.parse(
        query.since, query.until, query.interval, zone_of(query.timezone or timezone)
    )
    cohort = find_cohort(lake_of(request), cohorts_table(source), cohort_id, "path.cohort_id")
    ends = [*_starts(period)[1:], period.end]
    members = members_sql(source, cohort.definition, "c", ends, caller)
    rows = await read_events(
        request,
        caller,
        source,
        f"with {members.sql}\nselect as_of, count(*) as people from c_members group by as_of",
        members.params,
        period.start - members.lookback,
        period.end,
        members.tables,
    )
    found = {row["as_of"].replace(tzinfo=UTC): row["people"] for row in rows}
    return {
        "cohort": cohort.as_json(),
        "from": period.start,
        "to": period.end,
        "timezone": period.zone.key,
        "buckets": [period.label(b) for b in period.buckets],
        "as_of": ends,
        "people": [found.get(end, 0) for end in ends],
        "rows": [
            {"bucket": period.label(bucket), "people": found.get(end, 0)}
            for bucket, end in zip(period.buckets, ends, strict=True)
        ],
    }


def _starts(period: Period) -> list[datetime]:
    """Each bucket's start as an instant, the first one being the period's own start."""
    starts = [period.start]
    for bucket in period.buckets[1:]:
        assert isinstance(bucket, date) and not isinstance(bucket, datetime)
        starts.append(datetime.combine(bucket, datetime.min.time(), period.zone).astimezone(UTC))
    return starts
