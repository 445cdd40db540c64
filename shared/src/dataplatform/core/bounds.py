"""Bounded types for every date, time and number a client sends, query parameter or body field.

Python's dates stop at years 1 and 9999, and a database integer at 2**63 - 1: a value a client
controls must never reach date arithmetic or a query unbounded, or the answer is a 500 instead of
a 422. Routes and bodies take these types, and the gateway's validation handler names the field:

    first: Annotated[ReportDate | None, Query(alias="from")] = None
    before: Annotated[RowId | None, Query()] = None
    expires_in_days: Annotated[int, Within(1, MAX_LIFETIME_DAYS)] | None = None

The error says the allowed range (`query.to: must be from 2000-01-01 to 2100-12-31, not
0001-01-01`), and the OpenAPI document carries the bounds of numbers as `minimum`/`maximum`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from dataplatform.core.errors import InvalidRequestError

# Reporting data starts well after 2000 and nobody plans past 2100; both leave room for the day
# arithmetic a route does (a week back, a day forward, a time zone) without leaving Python's range.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
MAX_ROW_ID = 2**63 - 1  # a BIGINT, the widest integer column the stores hold
# A hundred years: a credential or a retention longer than that is a typo.
MAX_LIFETIME_DAYS = 36_500


@dataclass(frozen=True)
class Within:
    """Annotation bounding an int, a date or a datetime to `low`..`high`, both included.

    A datetime is compared by its own calendar day, before any zone conversion, so that a time
    such as `0001-01-01T00:00:00+01:00` is refused instead of overflowing when made UTC.
    """

    low: int | date
    high: int | date

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        if isinstance(self.low, int):
            json_schema.update(minimum=self.low, maximum=self.high)
        else:
            json_schema["description"] = f"From {self.low} to {self.high}."
        return json_schema

    def _check(self, value: Any) -> Any:
        if not self.holds(value):
            raise PydanticCustomError(
                "out_of_range",
                "must be from {low} to {high}, not {value}",
                {"low": str(self.low), "high": str(self.high), "value": str(value)},
            )
        return value

    def holds(self, value: int | date) -> bool:
        """Whether `value` lies within the bounds."""
        compared = value.date() if isinstance(value, datetime) else value
        return self.low <= compared <= self.high  # type: ignore[operator]


REPORT_RANGE = Within(EARLIEST_DAY, LATEST_DAY)

ReportDate = Annotated[date, REPORT_RANGE]
"""A day a report can be asked about: 2000-01-01 to 2100-12-31."""

ReportTime = Annotated[datetime, REPORT_RANGE]
"""A moment a report can be asked about, on a day from 2000-01-01 to 2100-12-31."""

RowId = Annotated[int, Within(1, MAX_ROW_ID)]
"""A database id or sequence number: 1 to 2**63 - 1."""

LifetimeDays = Annotated[int, Within(1, MAX_LIFETIME_DAYS)]
"""A lifetime or retention in days: 1 to 36,500."""


def check_report_day(day: date, field: str) -> date:
    """`day` when it lies in the reporting range; a 422 naming `field` and the range otherwise.

    For values a route parses itself (a parameter that takes a date or a time).
    """
    if not REPORT_RANGE.holds(day):
        name = field.rsplit(".", 1)[-1]
        raise InvalidRequestError(
            f"`{name}` must be from {EARLIEST_DAY} to {LATEST_DAY}, not {day}.", field=field
        )
    return day


EventNameFilter = Annotated[
    str | None,
    Query(
        alias="name",
        min_length=1,
        max_length=200,
        description="Only the event of this name, matched exactly (`Order Completed`).",
    ),
]
"""`?name=`: one event name as the SDKs sent it; every event when absent."""


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a time without a zone is taken as UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_day_order(first: date | None, last: date | None) -> None:
    """Refuse a period whose `from` is after its `to`, naming `from`."""
    if first is not None and last is not None and first > last:
        raise InvalidRequestError(
            f"`from` ({first}) is after `to` ({last}); give a `from` on or before `to`.",
            field="query.from",
        )
