"""What a product shows in the admin console: its pages, each a few charts of its own API and
forms that call it.

A product declares its pages next to its code and hands them to its `Product` (`console=`), as
it does its router; the console (served by the gateway at `/console`) lists them, behind the
permission each names, and draws each chart from the rows one of the product's GET routes
answers, fetched by the browser with the logged-in person's session. A form sends its fields to
one of the product's routes (with the page's CSRF token) and shows the answer, or the error next
to the field it names. A product declaring no page still gets one listing its tables.

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

ChartKind = Literal["line", "bar", "table", "heatmap", "graph", "sankey"]
# As `x`: the rows' first column; as the one series: every column but `x` (rows whose columns
# are data, as a trend's breakdown values or a SQL query's).
EVERY = "*"
FieldKind = Literal[
    "text", "number", "select", "json", "code", "list", "password", "checkbox", "date", "rows"
]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_SLUG = re.compile(r"^[a-z][a-z0-9-]*$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Key names joined by dots; a `{field}` part is the value of another field (`definition.{match}`).
_KEY = r"([A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})"
_FIELD = re.compile(rf"^{_KEY}(\.{_KEY})*$")
_PLACEHOLDER = re.compile(r"\{([^}]*)\}")


@dataclass(frozen=True)
class Action:
    """A button on each row of a table chart: sends `method` to `target`, whose `{column}`
    placeholders take the row's values (`/sources/{name}/rotate`), and shows the answer."""

    label: str
    method: Method
    target: str
    # Asked before sending (the browser's confirmation dialog), for what cannot be undone.
    confirm: str = ""
    # Who sees the button; "" is whoever sees the page.
    permission: str = ""

    def __post_init__(self) -> None:
        _check_route(f"Action `{self.label}`", self.target)


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
    # them, as every paged route answers), the answer itself when it is a list, or the answer
    # as one row when it is neither.
    rows: str = ""
    # `line`, `bar` and `table` draw each row; `heatmap` draws, for each row, the items of its
    # list `cells` (`series` = the item's key along the side, then its value); `graph` draws
    # each row as an edge from `x` to `series[0]`; `sankey` each row as a flow from `x` to
    # `series[0]` as wide as `series[1]`.
    kind: ChartKind = "line"
    cells: str = ""
    actions: tuple[Action, ...] = ()
    # A console page each row leads to, its `{column}` placeholders taken from the row:
    # `/console/catalog/{name}`.
    link: str = ""
    # Fetched again this often while the page is open (0: once).
    refresh_seconds: int = 0

    def __post_init__(self) -> None:
        _check_route(f"Chart `{self.title}`", self.source)
        _check_view(self.title, self.x, self.series, self.rows, self.kind, self.cells)


@dataclass(frozen=True)
class Answer:
    """How a form's answer is drawn: like a chart, from the answer's rows. A form without one
    shows the answer's fields as a list (a write key shown once, a proof)."""

    x: str
    series: tuple[str, ...]
    rows: str = ""
    kind: ChartKind = "table"
    cells: str = ""
    link: str = ""

    def __post_init__(self) -> None:
        _check_view("a form's answer", self.x, self.series, self.rows, self.kind, self.cells)


@dataclass(frozen=True)
class Field:
    """One input of a form. Its `name` is the key it fills in the request's JSON body (dots
    nest: `values.bounce_seconds`), a `{name}` placeholder of the target, or, for a GET form,
    a query parameter."""

    name: str
    label: str
    kind: FieldKind = "text"
    value: str = ""
    options: tuple[str, ...] = ()
    required: bool = True
    help: str = ""
    # A `rows` field is a list of objects, one per row a person adds, each with these fields
    # (a `json` column takes JSON, or else the text as it is: `3` is a number, `mobile` a text).
    columns: tuple["Field", ...] = ()

    def __post_init__(self) -> None:
        if not _FIELD.match(self.name):
            raise InvalidNameError(
                f"Form field `{self.name}` must be key names joined by `.` (e.g. `values.days`)."
            )
        if self.kind == "select" and not self.options:
            raise InvalidNameError(f"Form field `{self.name}` is a select without options.")
        if (self.kind == "rows") != bool(self.columns):
            raise InvalidNameError(
                f"Form field `{self.name}`: a `rows` field, and only one, names its columns."
            )
        if any(column.kind == "rows" for column in self.columns):
            raise InvalidNameError(f"Form field `{self.name}`: rows within rows are not drawn.")


@dataclass(frozen=True)
class Form:
    """A form on a page: its fields sent to one of the product's routes."""

    title: str
    target: str
    method: Method = "POST"
    fields: tuple[Field, ...] = ()
    submit: str = "Send"
    answer: Answer | None = None
    # Who sees the form; "" is whoever sees the page (the route still checks its own).
    permission: str = ""
    confirm: str = ""

    def __post_init__(self) -> None:
        _check_route(f"Form `{self.title}`", self.target)
        names = [field.name for field in self.fields]
        if len(set(names)) != len(names):
            raise InvalidNameError(f"Form `{self.title}` has two fields with one name: {names}.")
        named = _PLACEHOLDER.findall(self.target) + [
            part for name in names for part in _PLACEHOLDER.findall(name)
        ]
        missing = set(named) - set(names)
        if missing:
            raise InvalidNameError(
                f"Form `{self.title}`: its target or a field's name names {sorted(missing)}, "
                "which no field fills."
            )


@dataclass(frozen=True)
class ConsolePage:
    """One page of a product in the console, at `/console/products/<product>/<slug>`."""

    slug: str
    title: str
    # Who may see it (a page a role may not see is not linked, and answers 403).
    permission: str
    charts: tuple[Chart, ...] = ()
    description: str = ""
    forms: tuple[Form, ...] = ()
    # Its charts also stand on the console's overview (a product's status, say), for those
    # who may see the page.
    on_overview: bool = False

    def __post_init__(self) -> None:
        if not _SLUG.match(self.slug):
            raise InvalidNameError(
                f"Console page slug `{self.slug}` must be lower-case words joined by `-`, "
                "e.g. `traffic`."
            )
        titles = [chart.title for chart in self.charts] + [form.title for form in self.forms]
        if len(set(titles)) != len(titles):
            raise InvalidNameError(
                f"Console page `{self.slug}` has two charts or forms with one title: {titles}."
            )


def _check_route(what: str, route: str) -> None:
    # "" and "?..." are the prefix itself (`/segments`, `/segments?kind=ml`).
    if route and not route.startswith(("/", "?")):
        raise InvalidNameError(
            f"{what}: `{route}` must be a path under the product's prefix, starting with `/` "
            "(e.g. `/overview`), or empty for the prefix itself."
        )


def _check_view(
    title: str, x: str, series: tuple[str, ...], rows: str, kind: ChartKind, cells: str
) -> None:
    named = [c for c in (x, *series) if c != EVERY]
    for column in (*named, *([rows] if rows else []), *([cells] if cells else [])):
        if not _COLUMN.match(column):
            raise InvalidNameError(
                f"Chart `{title}`: `{column}` is not a column or key name (letters, digits and _)."
            )
    if not series:
        raise InvalidNameError(f"Chart `{title}` draws no series: name at least one.")
    if EVERY in series and (len(series) != 1 or kind not in ("line", "bar", "table")):
        raise InvalidNameError(
            f"Chart `{title}`: `*` stands alone as the series of a line, bar or table chart."
        )
    if kind == "sankey" and len(series) != 2:
        raise InvalidNameError(
            f"Chart `{title}`: a Sankey diagram's rows are links: `x` their source, and two "
            "series, their target and their value."
        )
    if kind == "heatmap" and (not cells or len(series) != 2):
        raise InvalidNameError(
            f"Chart `{title}`: a heatmap names its `cells` list and two series, the cell's key "
            "and its value."
        )
