"""A funnel's results over a period: how many people reached each step, in order.

A person enters with a first step in `[from, to)` and completes each next step after the
previous one, within `window_days` of entering (later steps may fall after `to`). Steps are
matched earliest first, which finds an ordered completion whenever one exists; a person counts
once per step, by the furthest step any of their entries reached.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request

from dataplatform.core.access import Principal
from dataplatform.core.serving import gold_rows
from web_user_analytics.funnels import FunnelStep
from web_user_analytics.serving._params import Period

REACHED = """
with recursive steps as (
    select
        unnest($kinds::varchar[]) as kind,
        unnest($patterns::varchar[]) as pattern,
        unnest(range(1, $steps + 1)) as step
),

matches as (
    select e.person_id, e.timestamp, s.step
    from e
    join steps as s
        on (s.kind = 'page' and e.is_pageview and e.path like s.pattern escape '\\')
        or (s.kind = 'event' and not e.is_pageview and e.event = s.pattern)
        or (s.kind = 'conversion' and e.is_conversion)
    where e.timestamp >= $start and e.timestamp <= $end + to_days($window_days)
),

progress(person_id, entered_at, step, reached_at) as (
    select person_id, timestamp, 1, timestamp
    from matches
    where step = 1 and timestamp < $end
    union all
    select p.person_id, p.entered_at, p.step + 1, min(m.timestamp)
    from progress as p
    join matches as m
        on m.person_id = p.person_id
        and m.step = p.step + 1
        and m.timestamp > p.reached_at
        and m.timestamp <= p.entered_at + to_days($window_days)
    group by p.person_id, p.entered_at, p.step
),

furthest as (
    select person_id, max(step) as reached from progress group by person_id
)

select s.step, count(f.person_id) as people
from steps as s
left join furthest as f on f.reached >= s.step
group by s.step
order by s.step
"""


async def funnel_results(
    request: Request,
    caller: Principal,
    session_events: str,
    steps: Sequence[FunnelStep],
    window_days: int,
    period: Period,
) -> list[dict[str, Any]]:
    """Per step: people, conversion from the first step and from the previous one, drop-off."""
    kinds = [_kind(step) for step in steps]
    patterns = [_like(step.page) if step.page is not None else step.event for step in steps]
    rows = await gold_rows(
        request,
        caller,
        REACHED,
        {"e": session_events},
        {
            "kinds": kinds,
            "patterns": patterns,
            "steps": len(steps),
            "start": period.start,
            "end": period.end,
            "window_days": window_days,
        },
    )
    people = _people_per_step(rows, len(steps))
    previous = [people[0], *people[:-1]]  # the first step is measured against itself
    return [
        {
            "step": number,
            "name": step.label,
            "people": reached,
            "conversion_rate": _rate(reached, people[0]),
            "step_conversion_rate": _rate(reached, before),
            "drop_off": before - reached,
            "drop_off_rate": _rate(before - reached, before),
        }
        for number, (step, reached, before) in enumerate(
            zip(steps, people, previous, strict=True), start=1
        )
    ]


def _kind(step: FunnelStep) -> str:
    if step.page is not None:
        return "page"
    return "event" if step.event is not None else "conversion"


def _people_per_step(rows: Sequence[Mapping[str, Any]], count: int) -> list[int]:
    # No rows at all when the table is not written yet: nobody reached any step.
    reached = {int(row["step"]): int(row["people"]) for row in rows}
    return [reached.get(step, 0) for step in range(1, count + 1)]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _like(page: str) -> str:
    """A page pattern (`*` for any characters) as a LIKE pattern, escaping LIKE's own wildcards."""
    escaped = page.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")
