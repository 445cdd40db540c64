"""DuckDB constructs with no Spark form in SQLGlot, rewritten by `transpile_to_spark`: each small
case gives the rows written out by hand on DuckDB and on Spark (local mode)."""

import shutil
from collections.abc import Iterator
from datetime import date

import pytest

from dataplatform.core.processing import DuckDBEngine, Engine, SparkEngine
from dataplatform.testing import service_missing

pytestmark = pytest.mark.spark

CASES = {
    "similar_to_matches_the_whole_string": (
        "select 'paid-search' similar to 'paid' as part, 'cpc' similar to 'paid|cpc' as whole",
        [(False, True)],
    ),
    "regexp_extract_ignoring_case": (
        "select regexp_extract('HTTPS://Shop.Example.com/a', '^[a-z]+://([^/]+)', 1, 'i') as host",
        [("Shop.Example.com",)],
    ),
    "regexp_extract_takes_the_whole_match_by_default": (
        "select regexp_extract('order-42', '[0-9]+') as number",
        [("42",)],
    ),
    "union_by_name_fills_missing_columns_with_null": (
        "select 1 as a, 'x' as b union all by name select 'y' as b, 2 as c",
        [(1, "x", None), (None, "y", 2)],
    ),
    "wall_time_in_paris_is_the_next_day_before_midnight_utc": (
        "select cast(timezone('Europe/Paris', timestamptz '2026-11-20 23:30:00+00') as date) as day",
        [(date(2026, 11, 21),)],
    ),
    "to_minutes_is_an_interval": (
        "select timestamptz '2026-11-20 10:31:00+00' - timestamptz '2026-11-20 10:00:00+00'"
        " > to_minutes(30) as longer",
        [(True,)],
    ),
    "row_values_compare_field_by_field": (
        "select row(1, 'a') is distinct from row(1, 'b') as changed,"
        " row(1, 'a') is distinct from row(1, 'a') as same",
        [(True, False)],
    ),
    # DuckDB's any_value skips nulls; Spark's only when told to.
    "any_value_skips_nulls_among_filtered_rows": (
        "select any_value(p) filter (where keep) as p"
        " from (values (null, true), ('/a', true), ('/b', false)) as t(p, keep)",
        [("/a",)],
    ),
    "named_window_extended_with_a_frame": (
        "select k, last_value(v ignore nulls) over (w rows between unbounded preceding"
        " and 1 preceding) as previous"
        " from (values (1, 'a'), (2, null), (3, 'c')) as t(k, v) window w as (order by k)",
        [(1, None), (2, "a"), (3, "a")],
    ),
}


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkEngine]:
    if shutil.which("java") is None:
        service_missing("Java 17 is needed for Spark's local mode")
    engine = SparkEngine("local[2]")
    yield engine
    engine.stop()


@pytest.mark.parametrize("case", CASES)
def test_duckdb_and_spark_give_the_rows_written_out(spark: SparkEngine, case: str) -> None:
    sql, expected = CASES[case]
    engines: tuple[Engine, ...] = (DuckDBEngine(), spark)
    for engine in engines:
        rows = [tuple(row.values()) for row in engine.execute(sql, {}).to_pylist()]
        assert sorted(rows, key=repr) == sorted(expected, key=repr), engine.name
