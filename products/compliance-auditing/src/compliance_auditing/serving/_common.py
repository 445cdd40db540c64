"""What the product's routes share: the query parameters, filters built from them, and the body
naming a data subject."""

from datetime import date
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from dataplatform.core.bounds import ReportDate, check_day_order


class SubjectIn(BaseModel):
    """Whom a request is about: the person's user id (ids linked to it count too). It travels
    in the body, never in a URL (URLs are logged)."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The person's user id, as the products store it.",
    )


TABLE_NAME = r"^[a-z][a-z0-9_]*\.(bronze|silver|gold|quarantine)\.[a-z][a-z0-9_]*$"

Actor = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="A user name, or key:<name> for an API key."),
]
TableFilter = Annotated[
    str | None,
    Query(
        pattern=TABLE_NAME,
        max_length=200,
        description="A table, <product>.<layer>.<table>, e.g. mobile_user_analytics.gold.user_summary.",
    ),
]
FirstDay = Annotated[ReportDate | None, Query(alias="from", description="First UTC day, included.")]
LastDay = Annotated[ReportDate | None, Query(alias="to", description="Last UTC day, included.")]
# (parameter name, condition naming it as `$name`, the value given or None)
Filter = tuple[str, str, Any]


def filtered(sql: str, filters: list[Filter], order: str) -> tuple[str, dict[str, Any]]:
    """`sql` with a `where` of each condition whose value is given, then `order`; with the
    named parameters those conditions take.

    Only the filters given enter the SQL, so each combination is its own query (and a cursor
    fits only its own).
    """
    given = [(name, condition, value) for name, condition, value in filters if value is not None]
    where = f" where {' and '.join(condition for _, condition, _ in given)}" if given else ""
    return f"{sql}{where} {order}", {name: value for name, _, value in given}


def by_day(column: str, first: date | None, last: date | None) -> list[Filter]:
    """The filters of a period of UTC days on `column` (a day, or a time: its UTC day)."""
    check_day_order(first, last)
    return [("first", f"{column} >= $first", first), ("last", f"{column} <= $last", last)]
