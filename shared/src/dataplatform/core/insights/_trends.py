"""Trends: per interval, how many events (or people, or a statistic of a property), for each
series, each breakdown value and the period before.

Each series is one DuckDB query over the product's event table, grouped by bucket and
breakdown value, with a grouping set for the whole period (people are counted once over it,
not summed over buckets). With a breakdown, the values kept are the most frequent ones of the
first series, so every series and the previous period are split the same way; the rest are
grouped as `other`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from string import ascii_uppercase
from typing import Any

from fastapi import Request

from dataplatform.core.access import Principal
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.insights._cohorts import (
    CohortIn,
    CohortSql,
    cohorts_table,
    find_cohort,
    members_sql,
)
from dataplatform.core.insights._filters import condition_sql
from dataplatform.core.insights._formula import Formula
from dataplatform.core.insights._periods import Period, local_time_sql, zone_of
from dataplatform.core.insights._queries import Series, TrendsQuery
from dataplatform.core.insights._source import EventRead, EventSource, caller_read
from dataplatform.core.serving import lake_of

_STATISTIC = {
    "total": "count(*)",
    "unique_users": "count(distinct person)",
    "sum": "sum(value)",
    "avg": "avg(value)",
    "min": "min(value)",
    "max": "max(value)",
    "median": "quantile_cont(value, 0.5)",
    "p90": "quantile_cont(value, 0.9)",
    "p95": "quantile_cont(value, 0.95)",
    "p99": "quantile_cont(value, 0.99)",
}
_BUCKET = {
    "minute": "ts - (local - date_trunc('minute', local))",
    "hour": "ts - (local - date_trunc('hour', local))",
    "day": "cast(date_trunc('day', local) as date)",
    "week": "cast(date_trunc('week', local) as date)",
    "month": "cast(date_trunc('month', local) as date)",
}
# A breakdown line: ("value", the value), ("none", None) for events without the property,
# ("other", None) for every value past the kept ones. A series without breakdown has one line,
# as if every event had no value.
LineKey = tuple[str, str | None]
UNSPLIT: LineKey = ("none", None)


@dataclass(frozen=True)
class _Answer:
    """One series over one period: per line, its value per bucket and over the whole period."""

    per_bucket: dict[LineKey, dict[date | datetime, float]]
    whole: dict[LineKey, float | None]


async def trends(
    request: Request,
    caller: Principal,
    source: EventSource,
    query: TrendsQuery,
    default_timezone: str,
) -> dict[str, Any]:
    """The answer to `query` over `source`'s events, as the API shows it to `caller`."""
    read = caller_read(request, caller, source)
    return await answer_trends(read, lake_of(request), caller, source, query, default_timezone)


async def answer_trends(
    read: EventRead,
    lake: Lakehouse,
    caller: Principal,
    source: EventSource,
    query: TrendsQuery,
    default_timezone: str,
) -> dict[str, Any]:
    """The answer to `query`, its events read by `read` (for a caller, or for a job)."""
    zone = zone_of(query.timezone or default_timezone)
    period = Period.parse(query.since, query.until, query.interval, zone)
    letters = ascii_uppercase[: len(query.series)]
    formula = Formula(query.formula, letters) if query.formula else None
    people = None
    if query.cohort is not None:
        people = find_cohort(lake, cohorts_table(source), query.cohort, "body.cohort").definition
    if query.segment is not None:  # a cohort of one segment, or one more criterion of the cohort
        segments = [*(people.segments if people else []), query.segment]
        people = (
            people.model_copy(update={"segments": segments})
            if people
            else CohortIn(name="segment", segments=segments)
        )
    cohort = members_sql(source, people, "cohort", [period.end], caller) if people else None
    asker = _Asker(read, source, query, cohort, period.end)
    kept = await asker.kept_values(period) if query.breakdown else None
    answers = [await asker.series(series, period, kept) for series in query.series]
    previous = None
    if query.compare:
        before = period.previous()
        previous = (before, [await asker.series(s, before, kept) for s in query.series])
    keys = _line_keys(answers, kept)
    split = kept is not None
    lines = [
        _line(
            split, letter, series, key, period, answer, previous and (previous[0], previous[1][i])
        )
        for i, (letter, series, answer) in enumerate(
            zip(letters, query.series, answers, strict=True)
        )
        for key in keys
    ]
    combined = (
        _formula_lines(split, formula, letters, query.series, keys, period, answers)
        if formula
        else None
    )
    labels = [period.label(b) for b in period.buckets]
    return {
        "query": query.model_dump(by_alias=True, exclude_none=True),
        "from": period.start,
        "to": period.end,
        "interval": period.interval,
        "timezone": zone.key,
        "buckets": labels,
        "lines": lines,
        "formula": combined,
        "chart": _chart(labels, lines, combined),
    }


def _chart(
    labels: list[str], lines: list[dict[str, Any]], combined: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """One row per bucket, a column per line (`A`, `A: pro`, `A (previous)`, the formula): the
    answer as a chart draws it."""
    columns: dict[str, list[Any]] = {}
    for line in lines:
        name = _line_name(line["series"], line)
        columns[name] = line["values"]
        if "previous" in line:
            columns[f"{name} (previous)"] = line["previous"]["values"]
    for line in (combined or {}).get("lines", []):
        columns[_line_name(combined["formula"], line)] = line["values"]  # type: ignore[index]
    return [
        {"bucket": label, **{name: values[i] for name, values in columns.items()}}
        for i, label in enumerate(labels)
    ]


def _line_name(series: str, line: dict[str, Any]) -> str:
    kind = line.get("breakdown")
    if kind is None:
        return series
    return f"{series}: {line['breakdown_value'] if kind == 'value' else f'({kind})'}"


class _Asker:
    """Writes and runs the SQL of one request's series."""

    def __init__(
        self,
        read: EventRead,
        source: EventSource,
        query: TrendsQuery,
        cohort: CohortSql | None,
        cohort_at: datetime,
    ) -> None:
        self.read, self.source, self.query = read, source, query
        # The cohort's people at the asked period's end, for that period and the one before.
        self.cohort, self.cohort_at = cohort, cohort_at

    async def kept_values(self, period: Period) -> list[str | None]:
        """The breakdown's most frequent values in the first series (null: not set)."""
        assert self.query.breakdown is not None
        sql, params = self._matched(self.query.series[0], period)
        rows = await self._rows(
            f"{sql}\nselect breakdown, count(*) as events from matched group by breakdown\n"
            "order by events desc, breakdown nulls first limit $top",
            params | {"top": self.query.breakdown.limit},
            period,
        )
        return [row["breakdown"] for row in rows]

    async def series(
        self, series: Series, period: Period, kept: Sequence[str | None] | None
    ) -> _Answer:
        sql, params = self._matched(series, period)
        statistic = _statistic(series)
        rows = await self._rows(
            f"""{sql},
labelled as (
    select
        {_BUCKET[period.interval]} as bucket,
        person,
        value,
        case
            when breakdown is null then if($none_kept, 'none', 'other')
            when list_contains($kept::varchar[], breakdown) then 'value'
            else 'other'
        end as line,
        case when line = 'value' then breakdown end as line_value
    from matched
)
select bucket, line, line_value, {statistic} as value, grouping(bucket) = 1 as whole
from labelled
group by grouping sets ((bucket, line, line_value), (line, line_value))""",
            params
            | {
                "kept": [v for v in kept or () if v is not None],
                "none_kept": kept is None or None in kept,
            },
            period,
        )
        answer = _Answer({}, {})
        for row in rows:
            key: LineKey = (row["line"], row["line_value"])
            if row["whole"]:
                answer.whole[key] = row["value"]
            else:
                answer.per_bucket.setdefault(key, {})[_bucket(row["bucket"])] = row["value"]
        return answer

    def _matched(self, series: Series, period: Period) -> tuple[str, dict[str, Any]]:
        """`with matched as (...)`: the series' events in the period, with who did them, the
        value its math reads and the breakdown's value."""
        source = self.source
        params: dict[str, Any] = {"start": period.start, "end": period.end}
        conditions = [f"({source.rows})"]
        if series.event is not None:
            params["events"] = [series.event] if isinstance(series.event, str) else series.event
            conditions.append(f"list_contains($events::varchar[], {source.event})")
        for index, condition in enumerate([*self.query.filters, *series.filters]):
            conditions.append(condition_sql(source, condition, f"f{index}", params))
        before = ""
        if self.cohort is not None:
            params.update(self.cohort.params)
            before = f"{self.cohort.sql},\n"
            conditions.append(f"{source.person} in (select person from cohort_members)")
        value = (
            f"try_cast({source.property_sql(series.property)} as double)"
            if series.property
            else "cast(null as double)"
        )
        breakdown = (
            source.property_sql(self.query.breakdown.property)
            if self.query.breakdown
            else "cast(null as varchar)"
        )
        time = f'"{source.time}"'
        sql = f"""with {before}matched as (
    select
        {time} as ts,
        {local_time_sql(time, period.zone, period.start, period.end, params)} as local,
        {source.person} as person,
        {value} as value,
        {breakdown} as breakdown
    from e
    where {time} >= $start and {time} < $end
        and {" and ".join(conditions)}
)"""
        return sql, params

    async def _rows(
        self, sql: str, params: Mapping[str, Any], period: Period
    ) -> Sequence[Mapping[str, Any]]:
        first, also = period.start, None
        if self.cohort is not None:
            first, also = min(first, self.cohort_at - self.cohort.lookback), self.cohort.tables
        last = max(period.end, self.cohort_at)
        return await self.read(sql, params, first, last, also)


def _statistic(series: Series) -> str:
    if series.math == "per_user_avg":
        counted = "sum(value)" if series.property else "count(*)"
        return f"{counted} / nullif(count(distinct person), 0)"
    return _STATISTIC[series.math]


def _bucket(value: date | datetime) -> date | datetime:
    """A bucket from the query: a date, or a naive UTC instant made zoned."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return value


def _line_keys(answers: Sequence[_Answer], kept: Sequence[str | None] | None) -> list[LineKey]:
    """Every line to show: without breakdown the one line; with it the kept values in their
    order, then `other` when any series has events past them."""
    if kept is None:
        return [UNSPLIT]
    keys: list[LineKey] = [("none", None) if v is None else ("value", v) for v in kept]
    if any(("other", None) in answer.whole for answer in answers):
        keys.append(("other", None))
    return keys


def _line(
    split: bool,
    letter: str,
    series: Series,
    key: LineKey,
    period: Period,
    answer: _Answer,
    previous: tuple[Period, _Answer] | None,
) -> dict[str, Any]:
    line = {
        "series": letter,
        "event": series.event,
        "math": series.math,
        "property": series.property,
        **_breakdown_of(key, split),
        **_values(series, key, period, answer),
    }
    if previous is not None:
        before, answered = previous
        line["previous"] = {
            "from": before.start,
            "to": before.end,
            "buckets": [before.label(b) for b in before.buckets],
            **_values(series, key, before, answered),
        }
    return line


def _breakdown_of(key: LineKey, split: bool) -> dict[str, Any]:
    if not split:
        return {}
    kind, value = key
    return {"breakdown_value": value, "breakdown": kind}


def _values(series: Series, key: LineKey, period: Period, answer: _Answer) -> dict[str, Any]:
    """A line's value per bucket (0 where a count found no event; null for an average or a
    statistic of nothing) and over the whole period."""
    empty = 0 if series.math in ("total", "unique_users") else None
    found = answer.per_bucket.get(key, {})
    return {
        "values": [found.get(bucket, empty) for bucket in period.buckets],
        "total": answer.whole.get(key, empty),
    }


def _formula_lines(
    split: bool,
    formula: Formula,
    letters: str,
    series: Sequence[Series],
    keys: Sequence[LineKey],
    period: Period,
    answers: Sequence[_Answer],
) -> dict[str, Any]:
    lines = []
    for key in keys:
        per_letter = {
            letter: _values(s, key, period, answer)
            for letter, s, answer in zip(letters, series, answers, strict=True)
        }
        values = [
            formula.value({letter: v["values"][i] for letter, v in per_letter.items()})
            for i in range(len(period.buckets))
        ]
        total = formula.value({letter: v["total"] for letter, v in per_letter.items()})
        lines.append({**_breakdown_of(key, split), "values": values, "total": total})
    return {"formula": formula.text, "lines": lines}
