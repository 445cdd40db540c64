"""A funnel's results over a period: how many people reached each step, in order.

A person enters with a first step in `[from, to)` and completes each next step after the
previous one, within `window_days` of entering (later steps may fall after `to`). Steps are
matched earliest first, which finds an ordered completion whenever one exists; a person counts
once per step, by the furthest step any of their entries reached.
"""

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from fastapi import Request

from dataplatform.core.access import Principal
from dataplatform.core.funnels import funnel_progress_sql, funnel_steps_json
from dataplatform.core.serving import gold_rows
from web_user_analytics.funnels import FunnelStep
from web_user_analytics.serving._params import Period


@cache
def _reached_sql(step_count: int) -> str:
    """People per furthest step; an entry happens in the period, its steps may follow within
    the window after it."""
    progress = funnel_progress_sql(
        FunnelStep,
        events="in_reach",
        steps_json="$steps::varchar",
        step_count=step_count,
        window="to_days($window_days)",
        entered_before="$end",
    )
    return f"""
with in_reach as (
    select * from e
    where timestamp >= $start and timestamp <= $end + to_days($window_days)
),
{progress}
select s.step, count(f.person_id) as people
from funnel_steps as s
left join funnel_reached as f on f.reached >= s.step
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
    rows = await gold_rows(
        request,
        caller,
        _reached_sql(len(steps)),
        {"e": session_events},
        {
            "steps": funnel_steps_json(steps),
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


def _people_per_step(rows: Sequence[Mapping[str, Any]], count: int) -> list[int]:
    # No rows at all when the table is not written yet: nobody reached any step.
    reached = {int(row["step"]): int(row["people"]) for row in rows}
    return [reached.get(step, 0) for step in range(1, count + 1)]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None
