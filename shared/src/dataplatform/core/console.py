"""What a product shows in the admin console: its pages, each a few charts of its own API.

A product declares its pages next to its code and hands them to its `Product` (`console=`), as
it does its router; the console (served by the gateway at `/console`) lists them, behind the
permission each names, and draws each chart from the rows one of the product's GET routes
answers, fetched by the browser with the logged-in person's session. A product declaring no
page still gets one listing its tables.

    def console_pages(context: ProductContext[WebSettings]) -> Sequence[ConsolePage]:
        return [
            ConsolePage(
                "traffic",
                "Traffic",
                READ,
                charts=(Chart("Visitors per day", "/overview", x="day", series=("visitors",),
                              rows="days"),),
            )
        ]
"""

import re
from dataclasses import dataclass
from typing import Literal

from dataplatform.core.errors import InvalidNameError

ChartKind = Literal["line", "bar", "table"]
_SLUG = re.compile(r"^[a-z][a-z0-9-]*$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Chart:
    """Rows of one of the product's GET routes, drawn: `x` along the bottom, each of `series`
    a line or bars (or, `table`, the rows as a table)."""

    title: str
    # The route under the product's prefix, with its query: `/overview?from=2026-11-01`.
    source: str
    x: str
    series: tuple[str, ...]
    # Where the rows sit in the answer: a key of it (`days`), or "" for its `rows` (a page of
    # them, as every paged route answers) or the answer itself when it is a list.
    rows: str = ""
    kind: ChartKind = "line"

    def __post_init__(self) -> None:
        if not self.source.startswith("/"):
            raise InvalidNameError(
                f"Chart `{self.title}`: source `{self.source}` must be a path under the "
                "product's prefix, starting with `/` (e.g. `/overview`)."
            )
        for column in (self.x, *self.series, *([self.rows] if self.rows else [])):
            if not _COLUMN.match(column):
                raise InvalidNameError(
                    f"Chart `{self.title}`: `{column}` is not a column or key name "
                    "(letters, digits and _)."
                )
        if not self.series:
            raise InvalidNameError(f"Chart `{self.title}` draws no series: name at least one.")


@dataclass(frozen=True)
class ConsolePage:
    """One page of a product in the console, at `/console/products/<product>/<slug>`."""

    slug: str
    title: str
    # Who may see it (a page a role may not see is not linked, and answers 403).
    permission: str
    charts: tuple[Chart, ...]
    description: str = ""

    def __post_init__(self) -> None:
        if not _SLUG.match(self.slug):
            raise InvalidNameError(
                f"Console page slug `{self.slug}` must be lower-case words joined by `-`, "
                "e.g. `traffic`."
            )
        titles = [chart.title for chart in self.charts]
        if len(set(titles)) != len(titles):
            raise InvalidNameError(
                f"Console page `{self.slug}` has two charts with one title: {titles}."
            )
