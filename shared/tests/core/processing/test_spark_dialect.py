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
    "range_frame_of_days_from_a_setting": (
        "select d, sum(n) over (order by d range between to_days(cast(2 as integer)) preceding"
        " and to_days(1) preceding) as before"
        " from (values (date '2026-11-01', 1), (date '2026-11-02', 2), (date '2026-11-04', 4))"
        " as t(d, n)",
        [(date(2026, 11, 1), None), (date(2026, 11, 2), 1), (date(2026, 11, 4), 2)],
    ),
    "range_frame_of_minutes_from_a_sum_of_settings": (
        "select m, count(*) over (order by t range between to_minutes(cast(3 as integer) - 1)"
        " preceding and current row) as recent"
        " from (values (1, timestamptz '2026-11-20 10:00:00+00'),"
        " (2, timestamptz '2026-11-20 10:02:00+00'), (3, timestamptz '2026-11-20 10:03:00+00'))"
        " as t(m, t)",
        [(1, 1), (2, 2), (3, 2)],
    ),
    "len_of_a_list_counts_its_items": (
        "select len(roles) as roles, len(name) as letters"
        " from (values (['viewer', 'admin'], 'ana')) as t(roles, name)",
        [(2, 3)],
    ),
    "dates_apart_are_a_count_of_days": (
        "select d - first_day >= 10 as long_enough, cast(d - greatest(first_day, d - 30) as bigint)"
        " as days from (values (date '2026-11-20', date '2026-11-01')) as t(d, first_day)",
        [(True, 19)],
    ),
    "unnest_cast_to_a_type": (
        "select unnest(generate_series(date '2026-11-01', date '2026-11-02', interval 1 day))::date"
        " as day",
        [(date(2026, 11, 1),), (date(2026, 11, 2),)],
    ),
    "epoch_us_of_an_instant": (
        "select epoch_us(timestamptz '1970-01-01 00:00:01.5+00') as micros",
        [(1_500_000,)],
    ),
    "epoch_of_instants_apart_keeps_the_fraction": (
        "select epoch(timestamptz '2026-11-20 10:00:01.5+00' - timestamptz '2026-11-20 10:00:00+00')"
        " as seconds, epoch(timestamptz '1970-01-01 00:00:02.25+00') as since_1970",
        [(1.5, 2.25)],
    ),
    "list_and_first_in_the_order_asked": (
        "select list(v order by k desc) as down, list(distinct v order by v) as up,"
        " first(v order by k desc) filter (where k < 3) as latest_early"
        " from (values (1, 'b'), (2, 'a'), (3, 'c'), (4, 'a')) as t(k, v)",
        [(["a", "c", "a", "b"], ["a", "b", "c"], "a")],
    ),
    "rows_holding_maps_compare_by_entries": (
        "select (n, m) is distinct from (n, map(['a'], [1])) as changed,"
        " m is not distinct from map(['a'], [2]) as same"
        " from (values (1, map(['a'], [2]))) as t(n, m)",
        [(True, True)],
    ),
    "from_json_with_duckdb_structure": (
        "select w.product, w.threshold from (select unnest(from_json("
        """'[{"product": "shop", "threshold": 0.5}]', '[{"product": "VARCHAR", "threshold": "DOUBLE"}]'"""
        ")) as w)",
        [("shop", 0.5)],
    ),
    "qualify_on_a_column_of_a_subquery": (
        "select k, t, lag(t) over (order by t) as previous"
        " from (select distinct k, t from (values (1, 10), (1, 10), (2, 25), (3, 30)) as v(k, t))"
        " qualify t - previous <= 10",
        [(3, 30, 25)],
    ),
    "asof_left_join_takes_the_nearest_row_before": (
        "select m.seen, c.committed, c.version"
        " from (values (10), (20), (5)) as m(seen)"
        " asof left join (values (4, 1), (12, 2), (20, 3)) as c(committed, version)"
        " on c.committed <= m.seen",
        [(10, 4, 1), (20, 20, 3), (5, 4, 1)],
    ),
    "asof_left_join_without_a_match_is_null": (
        "select m.seen, c.version from (values (3)) as m(seen)"
        " asof left join (values (4, 1)) as c(committed, version) on c.committed <= m.seen",
        [(3, None)],
    ),
    "list_sum_skips_nulls_and_is_null_when_empty": (
        "select list_sum([1.5, null, 2.0]) as total, list_sum(cast([] as double[])) as none",
        [(3.5, None)],
    ),
    "list_slice_keeps_both_ends": (
        "select [1, 2, 3, 4][2:3] as middle, [1, 2, 3, 4][:2] as first, [1, 2, 3, 4][3:] as last",
        [([2, 3], [1, 2], [3, 4])],
    ),
    "unnests_in_one_select_walk_side_by_side": (
        "select unnest([1, 2, 3]) as n, unnest(['a', 'b']) as letter",
        [(1, "a"), (2, "b"), (3, None)],
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
