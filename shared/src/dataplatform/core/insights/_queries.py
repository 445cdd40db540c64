"""What a client asks of insights: the bodies of the routes, checked before any SQL is written."""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Interval = Literal["minute", "hour", "day", "week", "month"]
# Per event: count them, count who did them, or a statistic of a numeric property.
Math = Literal[
    "total",
    "unique_users",
    "per_user_avg",
    "sum",
    "avg",
    "min",
    "max",
    "median",
    "p90",
    "p95",
    "p99",
]
COUNTS: tuple[Math, ...] = ("total", "unique_users", "per_user_avg")
Operator = Literal["=", "!=", "in", "not in", "contains", ">", "<", "is set", "is not set"]
# Beyond any amount or count a property holds; bounded so no client number reaches SQL unchecked.
Number = Annotated[float, Field(ge=-1e15, le=1e15)]
Scalar = Annotated[str, Field(max_length=1000)] | Number | bool

PropertyName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r'^[^"\\\x00-\x1f]+$',
        description="A property's key as the SDK sent it (`plan`), or a typed one (`$browser`).",
    ),
]
EventName = Annotated[str, Field(min_length=1, max_length=200)]
MAX_SERIES = 10
MAX_FILTERS = 20
MAX_VALUES = 1000
MAX_BREAKDOWN_VALUES = 50


class PropertyFilter(BaseModel):
    """Keep the events whose property compares so with `value`."""

    model_config = ConfigDict(extra="forbid")

    property: PropertyName
    type: Literal["event", "person"] = Field(
        "event",
        description="`event`: the event's own property; `person`: the latest value set on "
        "the person who did it (identify traits, `$set`).",
    )
    operator: Operator = "="
    value: Scalar | Annotated[list[Scalar], Field(min_length=1, max_length=MAX_VALUES)] | None = (
        None
    )

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Self:
        wanted = _VALUE_OF.get(self.operator)
        fits = {
            "none": self.value is None,
            "list": isinstance(self.value, list),
            "number": isinstance(self.value, int | float) and not isinstance(self.value, bool),
            "text": isinstance(self.value, str),
            "scalar": self.value is not None and not isinstance(self.value, list),
        }
        if wanted is not None and not fits[wanted]:
            raise ValueError(f"operator `{self.operator}` takes {_SAYS[wanted]} as `value`")
        return self


_VALUE_OF = {
    "=": "scalar",
    "!=": "scalar",
    "in": "list",
    "not in": "list",
    "contains": "text",
    ">": "number",
    "<": "number",
    "is set": "none",
    "is not set": "none",
}
_SAYS = {
    "none": "no value",
    "list": "a list of values",
    "number": "a number",
    "text": "a string",
    "scalar": "one string, number or boolean",
}

Filters = Annotated[list[PropertyFilter], Field(max_length=MAX_FILTERS)]


class Series(BaseModel):
    """One line of a trend: which events, and what is counted of them."""

    model_config = ConfigDict(extra="forbid")

    event: (
        EventName | Annotated[list[EventName], Field(min_length=1, max_length=MAX_VALUES)] | None
    ) = Field(None, description="An event name, several, or none for every event.")
    math: Math = "total"
    property: PropertyName | None = Field(
        None, description="The numeric property `sum`, `avg`, `min`, `max` and percentiles read."
    )
    filters: Filters = []

    @model_validator(mode="after")
    def _property_fits_math(self) -> Self:
        if self.math not in COUNTS and self.property is None:
            raise ValueError(f"math `{self.math}` needs the numeric `property` it reads")
        if self.math in ("total", "unique_users") and self.property is not None:
            raise ValueError(f"math `{self.math}` counts events or people and reads no `property`")
        return self


class Breakdown(BaseModel):
    """Split every series by one property: its `limit` most frequent values, then the rest."""

    model_config = ConfigDict(extra="forbid")

    property: PropertyName
    limit: int = Field(10, ge=1, le=MAX_BREAKDOWN_VALUES)


class PeriodQuery(BaseModel):
    """A period in a timezone: what every insight is asked over."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    since: str | None = Field(
        None,
        alias="from",
        description="A date (a whole day in the timezone) or an ISO 8601 datetime; 7 days "
        "before `to` when absent.",
    )
    until: str | None = Field(
        None,
        alias="to",
        description="End, excluded; a date includes that day. Now when absent.",
    )
    timezone: str | None = Field(
        None, max_length=64, description="An IANA zone; the product's reporting timezone if absent."
    )


class TrendsQuery(PeriodQuery):
    """Series of events over a period, per interval, in a timezone."""

    series: Annotated[list[Series], Field(min_length=1, max_length=MAX_SERIES)]
    interval: Interval = "day"
    filters: Filters = Field([], description="Filters every series shares.")
    breakdown: Breakdown | None = None
    cohort: str | None = Field(
        None, max_length=64, description="Only the people in this saved cohort at the period's end."
    )
    segment: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Only the people in this rule segment of user-segmentation now (its id).",
    )
    compare: bool = Field(False, description="Also answer the period just before, as long.")
    formula: str | None = Field(
        None,
        max_length=200,
        description="Arithmetic over the series by letter (`A / B`, `(A - B) * 100 / A`).",
    )


class EventMatch(BaseModel):
    """Events of one name (every event when absent) that pass the filters."""

    model_config = ConfigDict(extra="forbid")

    event: EventName | None = None
    filters: Filters = []


class PathsQuery(PeriodQuery):
    """What people did after (or before) their first event matching `start` in the period."""

    start: EventMatch
    direction: Literal["after", "before"] = "after"
    steps: int = Field(5, ge=1, le=20, description="Steps followed from the start.")
    filters: Filters = Field([], description="Which events count as steps.")
    sequences: int = Field(10, ge=1, le=100, description="Most common whole sequences listed.")
    edges_per_step: int = Field(
        20, ge=1, le=100, description="Most common moves listed at each step."
    )


class StickinessQuery(PeriodQuery):
    """On how many days of the period each person did the matching events."""

    events: EventMatch
