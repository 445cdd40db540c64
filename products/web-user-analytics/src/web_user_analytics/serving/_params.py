"""Query parameters the routes share: a period (`from`, `to`) and paging (`limit`, `cursor`)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Query

from dataplatform.core.bounds import EARLIEST_DAY, LATEST_DAY, check_report_day
from dataplatform.core.errors import InvalidRequestError
from dataplatform.core.serving import PageCursor, PageLimit

# The platform's paging parameters, under the names the routes use.
Limit = PageLimit
Cursor = PageCursor

DEFAULT_DAYS = 7

_MOMENT = (
    "A date (`2026-11-20`, a whole day in the product's reporting timezone) or an ISO 8601 "
    f"datetime (`2026-11-20T09:30:00Z`; UTC when it has no offset), from {EARLIEST_DAY} to "
    f"{LATEST_DAY}."
)


@dataclass(frozen=True)
class Period:
    """The instants `[start, end)` a request asks about, in UTC."""

    start: datetime
    end: datetime

    def as_json(self) -> dict[str, datetime]:
        return {"from": self.start, "to": self.end}

    def days(self, timezone: str) -> tuple[date, date]:
        """The first and last day in `timezone` that the period overlaps (its end is excluded)."""
        zone = ZoneInfo(timezone)
        last = self.end - timedelta(microseconds=1)
        return self.start.astimezone(zone).date(), last.astimezone(zone).date()


def period_parameters(timezone: str) -> Callable[..., Period]:
    """A dependency reading `from` and `to` (the last 7 days by default) in `timezone`."""
    zone = ZoneInfo(timezone)

    def period(
        start: Annotated[
            str | None, Query(alias="from", description=f"Start, included. {_MOMENT}")
        ] = None,
        end: Annotated[
            str | None,
            Query(alias="to", description=f"End, excluded; a date includes that day. {_MOMENT}"),
        ] = None,
    ) -> Period:
        until = _moment(end, "to", zone, next_day=True) if end else datetime.now(UTC)
        since = _moment(start, "from", zone) if start else until - timedelta(days=DEFAULT_DAYS)
        if since >= until:
            raise InvalidRequestError(
                f"`to` ({until.isoformat()}) must come after `from` ({since.isoformat()}).",
                field="query.to",
            )
        return Period(since, until)

    return period


def _moment(text: str, name: str, zone: ZoneInfo, *, next_day: bool = False) -> datetime:
    field = f"query.{name}"
    try:
        if len(text) == len("2026-11-20"):
            day = check_report_day(date.fromisoformat(text), field)
            # A day is whole: `to=2026-11-20` ends where 2026-11-21 begins.
            day += timedelta(days=1 if next_day else 0)
            return datetime.combine(day, time(), zone).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(
            f"`{name}` = {text!r} is neither a date nor a datetime. {_MOMENT}", field=field
        ) from None
    # Checked before the zone conversion, which overflows near year 1 or 9999.
    check_report_day(moment.date(), field)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
