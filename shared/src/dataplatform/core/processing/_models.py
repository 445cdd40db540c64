"""Model declarations: a `.sql` file with a YAML header, or a decorated Python function.

    /* ---
    name: silver.sessions
    materialized: merge
    unique_key: [session_id]
    description: App sessions, split after 30 minutes without events.
    columns:
      user_id: {description: Who, tags: [pii]}
    checks:
      - {check: not_null, column: session_id}
    --- */
    select ... from ref('silver.app_events')

Inputs are `ref('<layer>.<table>')` for the product's own tables and
`source('<product>', 'gold.<table>')` for another product's published gold table. In an
incremental run they hold only the rows the input gained since the model last ran; in a full
run, everything. Three more macros let a batch see around itself:

- `this()`: the model's current output (empty on a full run); merge new rows into old state.
- `this_since('7 days')`: the same, from 7 days before the batch's earliest row (by time column).
- `ref_since('silver.events', '1 hour')`: the input's rows from an hour before its earliest new
  row, to recompute the windows or sessions the new rows touch.
- `ref_touched('silver.events', 'user_id')`: the input's rows whose `user_id` is among its new
  rows' (optionally `ref_touched('silver.events', 'user_id', '2 days')`: only from two days before
  its earliest new row); `this_touched('user_id')`: the model's output rows of those keys.
  The keys are those of the rows the inputs gained or lost (deleted, or an updated row's old
  version); a partition column as key opens only its keys' partitions.
  `this_touched('user_id', '2 days')` keeps only the output rows from two days before the batch's
  earliest row by the model's `time_column`, else `timestamp` (and rows with no time, which hold
  on every day); `this_touched('user_id', 'silver.links')` takes the keys from that one input's
  new rows only.

A `merge` model may also return a boolean `_deleted`: its rows with `_deleted` true remove the
output row of their `unique_key` (and insert nothing when there is none). The runner takes the
column off before checks, types and lineage; a full refresh leaves those rows out.

`var('session_timeout_minutes')` is the SQL literal of one of the product's settings (a list
becomes a DuckDB list, `[1, 7, 30]`), given to
`load_models(..., variables=settings)`, so a model follows the product's configuration.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dataplatform.core.errors import did_you_mean
from dataplatform.core.processing._errors import ModelDefinitionError

_HEADER = re.compile(r"\A\s*/\*\s*---\s*\n(?P<yaml>.*?)\n\s*---\s*\*/[ \t]*\n?", re.DOTALL)
REF_PATTERN = re.compile(r"""\bref\(\s*['"](?P<name>[^'"]*)['"]\s*\)""")
SOURCE_PATTERN = re.compile(
    r"""\bsource\(\s*['"](?P<product>[^'"]*)['"]\s*,\s*['"](?P<name>[^'"]*)['"]\s*\)"""
)
THIS_PATTERN = re.compile(r"\bthis\(\s*\)")
# ref_since('silver.events', '30 minutes'): the input's rows from 30 minutes before its earliest
# new row; this_since('7 days'): the model's output from 7 days before the batch's earliest row.
REF_SINCE_PATTERN = re.compile(
    r"""\bref_since\(\s*['"](?P<name>[^'"]*)['"]\s*,\s*['"](?P<interval>[^'"]*)['"]\s*\)"""
)
THIS_SINCE_PATTERN = re.compile(r"""\bthis_since\(\s*['"](?P<interval>[^'"]*)['"]\s*\)""")
# ref_touched('silver.events', 'user_id'[, '2 days']): the input's rows whose user_id is among its
# new rows' (from 2 days before its earliest new row); this_touched('user_id'[, '2 days' or
# 'silver.links']): the model's own (since the lookback, or of that input's keys only).
REF_TOUCHED_PATTERN = re.compile(
    r"""\bref_touched\(\s*['"](?P<name>[^'"]*)['"]\s*,\s*['"](?P<key>[^'"]*)['"]"""
    r"""(?:\s*,\s*['"](?P<interval>[^'"]*)['"])?\s*\)"""
)
THIS_TOUCHED_PATTERN = re.compile(
    r"""\bthis_touched\(\s*['"](?P<key>[^'"]*)['"](?:\s*,\s*['"](?P<scope>[^'"]*)['"])?\s*\)"""
)
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VAR_PATTERN = re.compile(r"""\bvar\(\s*['"](?P<name>[^'"]*)['"]\s*\)""")
_INTERVAL = re.compile(r"^\s*(?P<count>\d+)\s*(?P<unit>second|minute|hour|day)s?\s*$")
_TABLE = re.compile(r"^(bronze|silver|gold)\.[a-z][a-z0-9_]*$")
# The partition column the runner derives from a model's time column: its UTC date. Lookbacks
# and backfill windows then read only the partitions of their days.
DAY = "day"
# A merge model's rows with this column true remove the output row of their unique_key; the
# runner takes it off before checks, types and lineage, so no table ever has it.
DELETE_FLAG = "_deleted"


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    tags: list[str] = Field(default_factory=list)
    type: str | None = None  # DuckDB type; needed by models that read `this()`


class CheckSpec(BaseModel):
    """A data-quality check; `error` keeps failing rows out of the output, `warn` only records."""

    model_config = ConfigDict(extra="forbid")

    check: Literal[
        "not_null", "unique", "accepted_values", "range", "freshness", "row_count_anomaly", "sql"
    ]
    column: str | None = None
    values: list[Any] | None = None
    min: float | None = None
    max: float | None = None
    max_age_seconds: int | None = None
    sql: str | None = None
    factor: float = Field(
        10.0, gt=1
    )  # row_count_anomaly: outside median / factor .. median * factor
    runs: int = Field(10, ge=3)  # row_count_anomaly: how many recent runs make the median
    severity: Literal["error", "warn"] = "error"

    @model_validator(mode="after")
    def _has_what_it_needs(self) -> "CheckSpec":
        needs = {
            "not_null": ["column"],
            "unique": ["column"],
            "accepted_values": ["column", "values"],
            "range": ["column"],
            "freshness": ["column", "max_age_seconds"],
            "sql": ["sql"],
        }.get(self.check, [])
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"check `{self.check}` needs {', '.join(missing)}")
        if self.check == "range" and self.min is None and self.max is None:
            raise ValueError("check `range` needs min, max or both")
        return self


class ModelHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    materialized: Literal["append", "merge", "replace"]
    unique_key: list[str] = Field(default_factory=list)
    # Before partition_by, which is checked against it.
    time_column: str | None = None  # an output column: lets a backfill replace a time range
    partition_by: list[str] = Field(default_factory=list)
    # The lake's maintenance sorts the table's files by the first.
    cluster_by: list[str] = Field(default_factory=list)
    incremental: bool = True
    description: str
    owner: str | None = None
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    checks: list[CheckSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "ModelHeader":
        if not _TABLE.match(self.name):
            raise ValueError(
                f"name `{self.name}` must be `<layer>.<table>`, e.g. `silver.sessions`"
            )
        if self.materialized == "merge" and not self.unique_key:
            raise ValueError("materialized `merge` needs a unique_key to merge on")
        if DELETE_FLAG in self.columns:
            raise ValueError(
                f"`{DELETE_FLAG}` is the runner's delete flag, not an output column: leave it "
                "out of `columns` (a merge model returns it to remove rows)"
            )
        return self

    @field_validator("partition_by")
    @classmethod
    def _partitions_follow_time(cls, partition_by: list[str], info: ValidationInfo) -> list[str]:
        time_column = info.data.get("time_column")
        for column in partition_by:
            if column == time_column or (column == DAY and time_column is not None):
                continue
            raise ValueError(
                f"the runner cannot relate `{column}` to a time column, so a lookback would read "
                f"every partition; partition by `{DAY}` (the UTC date of `time_column`, added by "
                "the runner) or by `time_column` itself, and give the header a `time_column`"
            )
        return partition_by

    @property
    def derived_partitions(self) -> list[str]:
        """Partition columns the runner computes from `time_column` (`day`: its UTC date)."""
        return [column for column in self.partition_by if column != self.time_column]

    @property
    def is_incremental(self) -> bool:
        """Whether runs read only new input rows; a `replace` model always reads everything."""
        return self.incremental and self.materialized != "replace"


@dataclass(frozen=True)
class Reference:
    """An input named in a model: a table of this product, or another product's gold table."""

    table: str  # `<layer>.<table>`
    product: str | None  # None: the model's own product
    line: int


@dataclass(frozen=True)
class SqlModel:
    header: ModelHeader
    sql: str  # the body, after the header
    path: Path
    body_line: int  # line of the file where the body starts
    references: tuple[Reference, ...]
    # ref_since() lookbacks by input (`<layer>.<table>`), and this_since()'s, when used.
    lookbacks: dict[str, timedelta] = field(default_factory=dict)
    this_lookback: timedelta | None = None
    # ref_touched() by (input, key column): its lookback, None when it reads every row of a key.
    touched: dict[tuple[str, str], timedelta | None] = field(default_factory=dict)
    this_touched: dict[str, "ThisTouched"] = field(default_factory=dict)  # by key column

    @property
    def name(self) -> str:
        return self.header.name

    @property
    def reads_itself(self) -> bool:
        """Whether the body reads the model's current output through `this()`."""
        return (
            THIS_PATTERN.search(self.sql) is not None
            or self.this_lookback is not None
            or bool(self.this_touched)
        )


@dataclass(frozen=True)
class PythonModel:
    """A model SQL cannot say: a function from Arrow inputs to an Arrow table."""

    header: ModelHeader
    function: Callable[..., Any]
    inputs: tuple[str, ...]
    schema: pa.Schema  # what the function must return
    lineage: dict[str, list[str]] = field(default_factory=dict)  # output column -> input columns
    path: Path = Path()

    @property
    def name(self) -> str:
        return self.header.name

    @property
    def references(self) -> tuple[Reference, ...]:
        return tuple(_parse_input(name, self.path, 0) for name in self.inputs)


Model = SqlModel | PythonModel


def python_model(
    *,
    inputs: list[str],
    schema: pa.Schema,
    lineage: dict[str, list[str]] | None = None,
    **header: Any,
) -> Callable[[Callable[..., Any]], PythonModel]:
    """Declare a Python model; the header takes the same keys as a SQL model's.

    The function gets one Arrow table per input, in order: the rows it gained since the last run
    (every row on a full run), or an `Input` (those, the rows it lost, and a lazy `Snapshot` of
    all of it) where the parameter is annotated `Input`. A parameter `this` gets the model's
    current output as a lazy `Snapshot`. It returns an Arrow table with `schema`'s columns.
    `lineage` maps each output column to the input columns it comes from (`<layer>.<table>.<column>`).

    @python_model(name="gold.segments", materialized="replace", description="...",
                  inputs=["gold.user_features"], schema=SEGMENTS)
    def segments(user_features: pa.Table) -> pa.Table: ...
    """

    def declare(function: Callable[..., Any]) -> PythonModel:
        path = Path(function.__code__.co_filename)
        line = function.__code__.co_firstlineno
        return PythonModel(
            _validate_header(header, path, line),
            function,
            tuple(inputs),
            schema,
            lineage or {},
            path,
        )

    return declare


def load_sql_model(path: Path, variables: Mapping[str, Any] | BaseModel | None = None) -> SqlModel:
    """Parse one `.sql` model file, or raise a `ModelDefinitionError` naming file and line.

    `var('name')` in the body becomes the SQL literal of `variables['name']`.
    """
    return parse_sql_model(path.read_text(), path, variables)


def parse_sql_model(
    source: str, path: Path, variables: Mapping[str, Any] | BaseModel | None = None
) -> SqlModel:
    """Parse a model's text as read from `path` (which errors name), like `load_sql_model`."""
    text = _substitute_variables(source, path, variables)
    match = _HEADER.match(text)
    if match is None:
        raise ModelDefinitionError(
            path,
            1,
            "the file must start with a header `/* --- ... --- */` holding at least "
            "name, materialized and description.",
        )
    header_line = text[: match.start("yaml")].count("\n") + 1
    try:
        raw = yaml.safe_load(match.group("yaml")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = header_line + mark.line if mark is not None else header_line
        raise ModelDefinitionError(path, line, f"the header is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ModelDefinitionError(path, header_line, "the header must be a mapping of keys.")
    header = _validate_header(raw, path, header_line, match.group("yaml"))
    body_line = text[: match.end()].count("\n") + 1
    body = text[match.end() :]
    references = tuple(_references(body, path, body_line))
    lookbacks, this_lookback = _lookbacks(body, path, body_line)
    touched, this_touched = _touched(body, path, body_line, references)
    model = SqlModel(
        header,
        body,
        path,
        body_line,
        references,
        lookbacks,
        this_lookback,
        touched,
        this_touched,
    )
    if model.reads_itself:
        _require_column_types(model.header, path, header_line)
    return model


def _require_column_types(header: ModelHeader, path: Path, header_line: int) -> None:
    untyped = [name for name, column in header.columns.items() if column.type is None]
    if not header.columns or untyped:
        raise ModelDefinitionError(
            path,
            header_line,
            "the model reads this(), so its header must give every output column a `type` "
            f"(this() is empty with those columns before the first run); untyped: {untyped or 'all'}.",
        )


def load_sql_models(
    folder: Path, variables: Mapping[str, Any] | BaseModel | None = None
) -> list[SqlModel]:
    """Every `.sql` model under `folder`, sorted by file name."""
    return [load_sql_model(path, variables) for path in sorted(folder.rglob("*.sql"))]


def _substitute_variables(
    text: str, path: Path, variables: Mapping[str, Any] | BaseModel | None
) -> str:
    values = variables.model_dump() if isinstance(variables, BaseModel) else dict(variables or {})

    def literal(match: re.Match[str]) -> str:
        name = match.group("name")
        line = text[: match.start()].count("\n") + 1
        if name not in values:
            known = ", ".join(sorted(values)) or "none"
            raise ModelDefinitionError(
                path,
                line,
                f"var('{name}') names no setting of the product (settings: {known})."
                f"{did_you_mean(name, values)}",
            )
        return _sql_literal(values[name], name, path, line)

    return VAR_PATTERN.sub(literal, text)


def _sql_literal(value: Any, name: str, path: Path, line: int) -> str:
    # bool before int: True is an int to Python, but must read `true` in SQL.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple) and not any(
        isinstance(v, list | tuple | dict) for v in value
    ):
        return "[" + ", ".join(_sql_literal(v, name, path, line) for v in value) + "]"
    raise ModelDefinitionError(
        path,
        line,
        f"var('{name}') is a {type(value).__name__}; only strings, numbers, booleans and lists "
        "of them can be written into SQL.",
    )


def _validate_header(
    raw: dict[str, Any], path: Path, header_line: int, header_text: str = ""
) -> ModelHeader:
    try:
        return ModelHeader.model_validate(raw)
    except ValidationError as exc:
        # A misspelt key explains the "missing" error of the key it was meant to be: report it first.
        error = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        key = str(error["loc"][0]) if error["loc"] else ""
        line = _line_of(header_text, error["loc"], header_line)
        if error["type"] == "extra_forbidden":
            unknown = str(error["loc"][-1])
            parent = ".".join(str(part) for part in error["loc"][:-1])
            fields = (
                ColumnSpec.model_fields
                if key == "columns"
                else CheckSpec.model_fields
                if key == "checks"
                else ModelHeader.model_fields
            )
            hint = did_you_mean(unknown, fields)
            where = f" in `{parent}`" if parent else ""
            message = f"unknown header key `{unknown}`{where}.{hint}"
        else:
            where = ".".join(str(part) for part in error["loc"])
            message = f"header `{where or 'name'}`: {error['msg'].removeprefix('Value error, ')}"
        raise ModelDefinitionError(path, line, message) from None


def _line_of(header_text: str, loc: tuple[Any, ...], header_line: int) -> int:
    """The header line of `loc`: its key, or the Nth list item under it for `(key, N, ...)`."""
    lines = header_text.splitlines()
    key = str(loc[0]) if loc else ""
    start = next((i for i, line in enumerate(lines) if key and line.startswith(f"{key}:")), None)
    if start is None:
        return header_line
    if len(loc) > 1 and isinstance(loc[1], int):
        items = [i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("- ")]
        if loc[1] < len(items):
            return header_line + items[loc[1]]
    return header_line + start


def _lookbacks(
    body: str, path: Path, body_line: int
) -> tuple[dict[str, timedelta], timedelta | None]:
    lookbacks: dict[str, timedelta] = {}
    for match in REF_SINCE_PATTERN.finditer(body):
        line = body_line + body[: match.start()].count("\n")
        name = _parse_input(match.group("name"), path, line).table
        lookbacks[name] = max(
            _interval(match.group("interval"), path, line), lookbacks.get(name, timedelta())
        )
    this_lookback = None
    for match in THIS_SINCE_PATTERN.finditer(body):
        line = body_line + body[: match.start()].count("\n")
        this_lookback = max(
            _interval(match.group("interval"), path, line), this_lookback or timedelta()
        )
    return lookbacks, this_lookback


@dataclass(frozen=True)
class ThisTouched:
    """How one `this_touched(key, ...)` reads the model's output rows of the touched keys."""

    # Only the rows from this long before the batch's earliest row (and those with no time).
    lookback: timedelta | None = None
    # The keys from this input's new and lost rows only (`<layer>.<table>`), not every input's.
    keys_from: str | None = None


def _touched(
    body: str, path: Path, body_line: int, references: tuple[Reference, ...]
) -> tuple[dict[tuple[str, str], timedelta | None], dict[str, ThisTouched]]:
    """ref_touched()'s lookback by (input, key), and how this_touched() reads each key.

    One input and key read with and without a lookback is read without: every row of its keys.
    """
    _refuse_malformed(body, path, body_line, "ref_touched", REF_TOUCHED_PATTERN)
    _refuse_malformed(body, path, body_line, "this_touched", THIS_TOUCHED_PATTERN)
    touched: dict[tuple[str, str], timedelta | None] = {}
    for match in REF_TOUCHED_PATTERN.finditer(body):
        line = body_line + body[: match.start()].count("\n")
        name = _parse_input(match.group("name"), path, line).table
        key = (name, _key_column(match.group("key"), path, line))
        interval = match.group("interval")
        lookback = None if interval is None else _interval(interval, path, line)
        if key not in touched:
            touched[key] = lookback
        elif touched[key] is not None:
            earlier = touched[key]
            touched[key] = None if lookback is None or earlier is None else max(earlier, lookback)
    inputs = {reference.table for reference in references if reference.product is None}
    this_touched: dict[str, ThisTouched] = {}
    for match in THIS_TOUCHED_PATTERN.finditer(body):
        line = body_line + body[: match.start()].count("\n")
        column = _key_column(match.group("key"), path, line)
        how = _this_touched_scope(match.group("scope"), inputs, path, line)
        if this_touched.setdefault(column, how) != how:
            raise ModelDefinitionError(
                path,
                line,
                f"this_touched('{column}') is called with different arguments; read one key's rows "
                "one way (the widest) and filter in SQL.",
            )
    return touched, this_touched


def _this_touched_scope(scope: str | None, inputs: set[str], path: Path, line: int) -> ThisTouched:
    if scope is None:
        return ThisTouched()
    if _INTERVAL.match(scope):
        return ThisTouched(lookback=_interval(scope, path, line))
    if scope in inputs:
        return ThisTouched(keys_from=scope)
    raise ModelDefinitionError(
        path,
        line,
        f"this_touched()'s second argument `{scope}` must be a lookback ('2 days') or one of "
        f"the model's ref() inputs to take the keys from ({', '.join(sorted(inputs)) or 'none'}).",
    )


_TOUCHED_USAGE = {
    "ref_touched": "ref_touched('silver.events', 'user_id') or "
    "ref_touched('silver.events', 'user_id', '2 days')",
    "this_touched": "this_touched('user_id'), this_touched('user_id', '2 days') or "
    "this_touched('user_id', 'silver.links')",
}


def _refuse_malformed(
    body: str, path: Path, body_line: int, macro: str, pattern: re.Pattern[str]
) -> None:
    """A call the pattern does not read would reach the engine as an unknown function."""
    well_formed = {match.start() for match in pattern.finditer(body)}
    for call in re.finditer(rf"\b{macro}\s*\(", body):
        if call.start() not in well_formed:
            line = body_line + body[: call.start()].count("\n")
            raise ModelDefinitionError(
                path,
                line,
                f"{macro}() takes quoted arguments: write {_TOUCHED_USAGE[macro]}.",
            )


def _key_column(name: str, path: Path, line: int) -> str:
    if not _COLUMN.match(name):
        raise ModelDefinitionError(
            path,
            line,
            f"key column `{name}` must be one column's name, e.g. 'user_id' (letters, digits, _).",
        )
    return name


def _interval(text: str, path: Path, line: int) -> timedelta:
    match = _INTERVAL.match(text)
    if match is None:
        raise ModelDefinitionError(
            path, line, f"interval `{text}` must look like '30 minutes', '1 hour' or '7 days'."
        )
    return timedelta(**{f"{match.group('unit')}s": int(match.group("count"))})


def _references(body: str, path: Path, body_line: int) -> list[Reference]:
    found = []
    calls = [REF_PATTERN, REF_SINCE_PATTERN, REF_TOUCHED_PATTERN]
    for match in (match for pattern in calls for match in pattern.finditer(body)):
        line = body_line + body[: match.start()].count("\n")
        found.append(_parse_input(match.group("name"), path, line))
    for match in SOURCE_PATTERN.finditer(body):
        line = body_line + body[: match.start()].count("\n")
        table = match.group("name")
        if not table.startswith("gold."):
            raise ModelDefinitionError(
                path,
                line,
                f"source('{match.group('product')}', '{table}') reads another product's "
                f"`{table.split('.')[0]}` table; only gold tables are published across products.",
            )
        found.append(Reference(table, match.group("product").replace("-", "_"), line))
    return found


def _parse_input(name: str, path: Path, line: int) -> Reference:
    if not _TABLE.match(name):
        raise ModelDefinitionError(
            path, line, f"ref('{name}') must name `<layer>.<table>`, e.g. ref('silver.sessions')."
        )
    return Reference(name, None, line)


def load_models(
    folder: Path,
    python_models: list[PythonModel] | None = None,
    variables: Mapping[str, Any] | BaseModel | None = None,
) -> list[Model]:
    """A product's models: every `.sql` file under `folder`, then its Python models.

    `variables` (the product's settings) are what `var('name')` reads in the SQL files.
    """
    return [*load_sql_models(folder, variables), *(python_models or [])]
