"""Data-quality checks on a model's output batch, run before anything is published: in DuckDB,
or by the engine that holds the batch (Spark keeps its own, see `CheckQueries`).

Row checks (not_null, unique, accepted_values, range, sql) name the failing rows; batch checks
(freshness, row_count_anomaly) fail the batch as a whole, so every row of it counts as failing.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import sqlglot

from dataplatform.core.processing._models import CheckSpec

BATCH = "batch"  # the name a custom `sql` check queries the batch by


@dataclass(frozen=True)
class CheckResult:
    check: str
    column: str | None
    severity: str
    passed: bool
    failing_rows: int
    detail: str

    @property
    def label(self) -> str:
        return f"{self.check}({self.column})" if self.column else self.check

    def as_record(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "column": self.column,
            "severity": self.severity,
            "passed": self.passed,
            "failing_rows": self.failing_rows,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class CheckOutcome:
    result: CheckResult
    failing: pa.Table  # the failing rows as one JSON column `row` (empty when passed)


class CheckQueries(Protocol):
    """What evaluating checks asks of an engine holding the batch (as `batch`) and, for an
    append model, the rows already published (as `existing`)."""

    def failing_rows(self, sql: str) -> pa.Table:
        """The rows `sql` (DuckDB dialect) returns, as one JSON column `row`."""
        ...

    def newest(self, column: str) -> datetime | None:
        """The batch's latest value of `column`."""
        ...


def run_checks(
    batch: pa.Table,
    checks: Sequence[CheckSpec],
    *,
    existing: ds.Dataset | pa.Table | None = None,
    recent_row_counts: Sequence[int] = (),
    now: datetime | None = None,
) -> list[CheckOutcome]:
    """Evaluate every check on `batch`, in DuckDB.

    `existing` is the output table before this batch: an append model's `unique` check also
    refuses values already there. `recent_row_counts` are the rows_out of recent runs.
    """
    connection = duckdb.connect()
    connection.register(BATCH, batch)
    if existing is not None:
        connection.register("existing", existing)
    try:
        queries = _DuckDBQueries(connection)
        return evaluate_checks(
            queries, checks, batch.num_rows, existing is not None, recent_row_counts, now
        )
    finally:
        connection.close()


def evaluate_checks(
    queries: CheckQueries,
    checks: Sequence[CheckSpec],
    batch_rows: int,
    has_existing: bool,
    recent_row_counts: Sequence[int] = (),
    now: datetime | None = None,
) -> list[CheckOutcome]:
    """Every check, through whichever engine holds the batch."""
    return [
        _evaluate(queries, check, batch_rows, has_existing, recent_row_counts, now)
        for check in checks
    ]


class _DuckDBQueries:
    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def failing_rows(self, sql: str) -> pa.Table:
        return self.connection.sql(
            f"select to_json(failing) as row from ({sql}) as failing"
        ).to_arrow_table()

    def newest(self, column: str) -> datetime | None:
        # fetchall: a result left open would hold the connection against the next query.
        ((newest,),) = self.connection.execute(f'select max("{column}") from {BATCH}').fetchall()
        return cast(datetime | None, newest)


def _evaluate(
    queries: CheckQueries,
    check: CheckSpec,
    batch_rows: int,
    has_existing: bool,
    recent_row_counts: Sequence[int],
    now: datetime | None,
) -> CheckOutcome:
    column = f'"{check.column}"' if check.column else ""
    detail = ""
    match check.check:
        case "not_null":
            failing_sql = f"select * from {BATCH} where {column} is null"
            detail = "null values"
        case "unique":
            failing_sql = (
                f"select * from {BATCH} where {column} in "
                f"(select {column} from {BATCH} group by all having count(*) > 1)"
            )
            if has_existing:
                failing_sql += f" or {column} in (select {column} from existing)"
            detail = "values that repeat"
        case "accepted_values":
            # A literal, not a parameter: every engine reads the same SQL.
            accepted = sqlglot.exp.convert(list(check.values or [])).sql(dialect="duckdb")
            failing_sql = (
                f"select * from {BATCH} where {column} is not null "
                f"and not list_contains({accepted}, {column})"
            )
            detail = f"values outside {check.values}"
        case "range":
            bounds = []
            if check.min is not None:
                bounds.append(f"{column} < {float(check.min)!r}")
            if check.max is not None:
                bounds.append(f"{column} > {float(check.max)!r}")
            failing_sql = f"select * from {BATCH} where {' or '.join(bounds)}"
            detail = f"values outside [{check.min}, {check.max}]"
        case "freshness":
            return _batch_check(queries, check, *_freshness(queries, check, now))
        case "row_count_anomaly":
            return _batch_check(queries, check, *_row_count(check, batch_rows, recent_row_counts))
        case "sql":
            failing_sql = str(check.sql)
            detail = "rows returned by the check's query"
    failing = queries.failing_rows(failing_sql)
    passed = failing.num_rows == 0
    return CheckOutcome(
        CheckResult(check.check, check.column, check.severity, passed, failing.num_rows, detail),
        failing,
    )


def _freshness(queries: CheckQueries, check: CheckSpec, now: datetime | None) -> tuple[bool, str]:
    newest_time = queries.newest(str(check.column))
    if newest_time is None:
        return True, "no rows to judge"
    if newest_time.tzinfo is None:
        newest_time = newest_time.replace(tzinfo=UTC)
    age = ((now or datetime.now(UTC)) - newest_time).total_seconds()
    limit = check.max_age_seconds or 0
    return age <= limit, f"newest {check.column} is {age:.0f} s old (limit {limit} s)"


def _row_count(
    check: CheckSpec, batch_rows: int, recent_row_counts: Sequence[int]
) -> tuple[bool, str]:
    history = list(recent_row_counts)[: check.runs]
    if len(history) < 3:
        return True, f"{len(history)} earlier runs; at least 3 are needed to judge"
    median = statistics.median(history)
    low, high = median / check.factor, median * check.factor
    passed = low <= batch_rows <= high
    return (
        passed,
        f"{batch_rows} rows against a median of {median:g} over {len(history)} runs (allowed {low:g}..{high:g})",
    )


def _batch_check(
    queries: CheckQueries, check: CheckSpec, passed: bool, detail: str
) -> CheckOutcome:
    failing = queries.failing_rows(f"select * from {BATCH} where {not passed}")
    return CheckOutcome(
        CheckResult(check.check, check.column, check.severity, passed, failing.num_rows, detail),
        failing,
    )
