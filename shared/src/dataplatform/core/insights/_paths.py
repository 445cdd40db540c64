"""Paths (what people did after, or before, an event) and stickiness (on how many days of a
period they did it), over a product's events.

A path starts at each person's first event in the period matching the start; its steps are that
person's next (or previous) events, each named by the source's `step` (a page's path, a screen,
else the event's name). Every count is of people, aggregated in DuckDB: the answer's size grows
with the steps and names asked for, not with the people.
"""

from collections.abc import Mapping
from typing import Any

from fastapi import Request

from dataplatform.core.access import Principal
from dataplatform.core.insights._filters import match_sql
from dataplatform.core.insights._periods import Period, local_time_sql, zone_of
from dataplatform.core.insights._queries import EventMatch, PathsQuery, PeriodQuery, StickinessQuery
from dataplatform.core.insights._source import EventSource, read_events

REACHED = """
select 0 as step, count(*) as people from starts
union all
select n, count(*) from kept group by n
order by step"""
EDGES = """,
moves as (
    select n, lag(step) over (partition by person order by n) as source, step as target
    from kept
)
select n as step, source, target, count(*) as people
from moves
group by n, source, target
qualify row_number() over (partition by n order by people desc, source, target) <= $per_step
order by step, people desc, source, target"""
SEQUENCES = """,
per_person as (select person, list(step order by n) as path from kept group by person)
select path, count(*) as people
from per_person
group by path
order by people desc, path
limit $sequences"""
STICKINESS = """,
per_person as (
    select person, count(distinct cast(local as date)) as days from matched group by person
)
select days, count(*) as people from per_person group by days order by days"""


async def paths(
    request: Request, caller: Principal, source: EventSource, query: PathsQuery, timezone: str
) -> dict[str, Any]:
    """The steps people took from the start: how many reached each, the most common moves at
    each step (a Sankey diagram's links; the first step's source is the start) and the most
    common whole sequences."""
    period = _period(query, timezone)
    params: dict[str, Any] = {"steps": query.steps}
    later = query.direction == "after"
    start = match_sql(source, query.start, "s", params)
    # The start counts whatever the filters say: they choose the steps after it.
    steps = match_sql(source, EventMatch(filters=query.filters), "f", params)
    sql = f"""{_matched(source, period, params, f"({steps}) or ({start})", start)},
starts as (select person, min(ts) as started from matched where is_start group by person),
numbered as (
    select
        m.person,
        m.step,
        row_number() over (
            partition by m.person order by m.ts {"asc" if later else "desc"}, m.step
        ) as n
    from matched as m
    join starts as s on s.person = m.person
    where m.ts {">" if later else "<"} s.started
),
kept as (select * from numbered where n <= $steps)"""
    ask = _asker(request, caller, source, period)
    reached = {row["step"]: row["people"] for row in await ask(sql + REACHED, params)}
    edges = await ask(sql + EDGES, params | {"per_step": query.edges_per_step})
    sequences = await ask(sql + SEQUENCES, params | {"sequences": query.sequences})
    people = [reached.get(step, 0) for step in range(query.steps + 1)]
    return {
        "query": query.model_dump(by_alias=True, exclude_none=True),
        **_period_json(period),
        "people": people[0],
        "steps": [
            {"step": step, "people": people[step], "dropped": people[step - 1] - people[step]}
            for step in range(1, query.steps + 1)
        ],
        "edges": [dict(edge) for edge in edges],
        # The same moves as a Sankey diagram's links, each node named with its step (a page
        # seen at two steps is two nodes, so the diagram never loops back).
        "sankey": [
            {
                "source": f"{edge['step'] - 1}. {edge['source'] or 'start'}",
                "target": f"{edge['step']}. {edge['target']}",
                "people": edge["people"],
            }
            for edge in edges
        ],
        "sequences": [dict(sequence) for sequence in sequences],
    }


async def stickiness(
    request: Request,
    caller: Principal,
    source: EventSource,
    query: StickinessQuery,
    timezone: str,
) -> dict[str, Any]:
    """How many people did the events on exactly 1, 2, ... days of the period (its days in
    the timezone)."""
    period = _period(query, timezone)
    params: dict[str, Any] = {}
    sql = _matched(source, period, params, match_sql(source, query.events, "f", params), "false")
    rows = await _asker(request, caller, source, period)(sql + STICKINESS, params)
    found = {row["days"]: row["people"] for row in rows}
    days = len(period.buckets)
    return {
        "query": query.model_dump(by_alias=True, exclude_none=True),
        **_period_json(period),
        "days_in_period": days,
        "people": sum(found.values()),
        "days": [{"days": n, "people": found.get(n, 0)} for n in range(1, days + 1)],
    }


def _period(query: PeriodQuery, timezone: str) -> Period:
    return Period.parse(query.since, query.until, "day", zone_of(query.timezone or timezone))


def _period_json(period: Period) -> dict[str, Any]:
    return {"from": period.start, "to": period.end, "timezone": period.zone.key}


def _matched(
    source: EventSource, period: Period, params: dict[str, Any], kept: str, start: str
) -> str:
    """`with matched as (...)`: the period's events for which `kept` holds, with who did
    them, their local time, their step name and whether `start` holds."""
    params.update(start=period.start, end=period.end)
    time = f'"{source.time}"'
    return f"""with matched as (
    select
        {time} as ts,
        {local_time_sql(time, period.zone, period.start, period.end, params)} as local,
        {source.person} as person,
        {source.step} as step,
        {start} as is_start
    from e
    where {time} >= $start and {time} < $end and ({source.rows}) and {kept}
)"""


def _asker(request: Request, caller: Principal, source: EventSource, period: Period) -> Any:
    async def ask(sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return await read_events(request, caller, source, sql, params, period.start, period.end)

    return ask
