"""Funnels: ordered steps one person completes in order, matched in SQL over web events.

A step is a page view whose path matches a pattern (`*` for any characters) or a tracked event
by name; a product may add kinds of its own (web-user-analytics adds `conversion`) by extending
`FunnelStep` with a field and its predicate in `MATCHES`. `funnel_progress_sql` writes the CTEs
that match the steps, in order, earliest first, over a relation with web-user-analytics'
gold.session_events columns: `person_id`, `timestamp`, `is_pageview`, `path`, `event` (and
`is_conversion` for conversion steps).
"""

import json
from collections.abc import Sequence
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# `\` escapes LIKE's own wildcards in a page pattern (see `like_pattern`).
_PAGE_MATCH = r"e.is_pageview and e.path like s.pattern escape '\'"
_EVENT_MATCH = "not e.is_pageview and e.event = s.pattern"


class FunnelStep(BaseModel):
    """One step: a page view whose path matches `page`, or a tracked `event` by name."""

    model_config = ConfigDict(extra="forbid")
    # Per kind (a field of the model), when an event `e` matches a step `s` (`s.pattern`).
    MATCHES: ClassVar[dict[str, str]] = {"page": _PAGE_MATCH, "event": _EVENT_MATCH}
    ONE_KIND: ClassVar[str] = (
        "a funnel step is either a `page` (a path such as `/cart`) or an `event` "
        "(such as `purchase`), not both or neither"
    )

    page: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        pattern=r"^/",
        description="A page path such as `/cart`; `*` matches any characters (`/products/*`).",
    )
    event: str | None = Field(
        None, min_length=1, max_length=200, description="A tracked event such as `purchase`."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if sum(getattr(self, kind) is not None for kind in self.MATCHES) != 1:
            raise ValueError(self.ONE_KIND)
        return self

    @property
    def kind(self) -> str:
        """The kind of step: the name of its one field that is set (`page`, `event`, ...)."""
        return next(kind for kind in self.MATCHES if getattr(self, kind) is not None)

    @property
    def pattern(self) -> str | None:
        """What the SQL matches: a page's LIKE pattern, an event's name; None for other kinds."""
        if self.page is not None:
            return like_pattern(self.page)
        return self.event


def like_pattern(page: str) -> str:
    """A page pattern (`*` for any characters) as a LIKE pattern, LIKE's own wildcards escaped."""
    escaped = page.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def funnel_steps_json(steps: Sequence[FunnelStep]) -> str:
    """The steps as `funnel_progress_sql` reads them: `[{"kind": ..., "pattern": ...}, ...]`."""
    return json.dumps([{"kind": step.kind, "pattern": step.pattern} for step in steps])


def funnel_progress_sql(
    step_type: type[FunnelStep],
    *,
    events: str,
    steps_json: str,
    step_count: int,
    window: str | None = None,
    entered_before: str | None = None,
) -> str:
    """CTEs (to follow `with`) ending in `funnel_reached(person_id, reached)`: the furthest step
    each person of `events` reached in order; one line, so a template can take it.

    `steps_json` is an SQL expression for `funnel_steps_json(...)` of `step_count` steps. Each
    step is matched at its earliest time after the previous one, which finds an ordered
    completion whenever one exists. With `window` (an interval expression) every first step is
    an entry, the rest due within the window of it; without, only a person's earliest first
    step is followed (it reaches furthest). `entered_before` (a timestamp expression) bounds
    when an entry may happen.

    One CTE per step rather than a recursive one: Spark refuses an aggregate over a recursive
    reference, and a funnel has a handful of steps.
    """
    if step_count < 1:
        raise ValueError(f"a funnel needs at least one step, got step_count={step_count}")
    matched = " or ".join(
        f"(s.kind = '{kind}' and {condition})" for kind, condition in step_type.MATCHES.items()
    )
    entry_bound = f" and timestamp < {entered_before}" if entered_before else ""
    if window is None:
        entries = (
            "select person_id, min(timestamp) as entered_at, min(timestamp) as reached_at "
            f"from funnel_matches where step = 1{entry_bound} group by person_id"
        )
        in_window = ""
    else:
        entries = (
            "select person_id, timestamp as entered_at, timestamp as reached_at "
            f"from funnel_matches where step = 1{entry_bound}"
        )
        in_window = f" and m.timestamp <= p.entered_at + {window}"
    progress = [f"funnel_step_1 as ({entries})"]
    for step in range(2, step_count + 1):
        progress.append(
            f"funnel_step_{step} as (select p.person_id, p.entered_at, "
            "min(m.timestamp) as reached_at "
            f"from funnel_step_{step - 1} as p join funnel_matches as m "
            f"on m.person_id = p.person_id and m.step = {step} "
            f"and m.timestamp > p.reached_at{in_window} "
            "group by p.person_id, p.entered_at)"
        )
    reached = " union all ".join(
        f"select person_id, {step} as step from funnel_step_{step}"
        for step in range(1, step_count + 1)
    )
    return (
        "funnel_steps as (select step, spec.kind as kind, spec.pattern as pattern from ("
        "select unnest(generate_series(1, len(specs))) as step, unnest(specs) as spec from ("
        f'select from_json({steps_json}, \'[{{"kind": "VARCHAR", "pattern": "VARCHAR"}}]\')'
        " as specs))), "
        "funnel_matches as (select e.person_id, e.timestamp, s.step "
        f"from {events} as e join funnel_steps as s on {matched}), "
        + ", ".join(progress)
        + ", funnel_reached as (select person_id, max(step) as reached "
        f"from ({reached}) as progress group by person_id)"
    )
