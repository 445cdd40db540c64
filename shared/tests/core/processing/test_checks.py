"""Each data-quality check, on a small batch with known failing rows."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from dataplatform.core.processing import CheckSpec, ModelDefinitionError, load_sql_model, run_checks

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BATCH = pa.table(
    {
        "id": [1, 2, 2, 4],
        "country": ["fr", "de", None, "xx"],
        "amount": [10.0, -1.0, 5.0, 1000.0],
        "at": pa.array(
            [NOW - timedelta(minutes=m) for m in (1, 2, 3, 90)], pa.timestamp("us", tz="UTC")
        ),
    }
)


def outcome(check: CheckSpec, **kwargs):  # type: ignore[no-untyped-def]
    (result,) = run_checks(BATCH, [check], now=NOW, **kwargs)
    return result


def failing_ids(result) -> list[int]:  # type: ignore[no-untyped-def]
    return sorted(json.loads(row)["id"] for row in result.failing["row"].to_pylist())


def test_not_null_names_the_null_rows() -> None:
    result = outcome(CheckSpec(check="not_null", column="country"))
    assert not result.result.passed and failing_ids(result) == [2]


def test_unique_names_every_repeated_row_and_values_already_published() -> None:
    assert failing_ids(outcome(CheckSpec(check="unique", column="id"))) == [2, 2]
    already = pa.table({"id": [4], "country": ["fr"], "amount": [1.0], "at": BATCH["at"][:1]})
    assert failing_ids(outcome(CheckSpec(check="unique", column="id"), existing=already)) == [
        2,
        2,
        4,
    ]


def test_accepted_values_lets_nulls_pass() -> None:
    result = outcome(CheckSpec(check="accepted_values", column="country", values=["fr", "de"]))
    assert failing_ids(result) == [4]


def test_range_with_either_bound() -> None:
    assert failing_ids(outcome(CheckSpec(check="range", column="amount", min=0))) == [2]
    assert failing_ids(outcome(CheckSpec(check="range", column="amount", min=0, max=100))) == [2, 4]


def test_freshness_judges_the_newest_row() -> None:
    fresh = outcome(CheckSpec(check="freshness", column="at", max_age_seconds=120))
    stale = outcome(CheckSpec(check="freshness", column="at", max_age_seconds=30))
    assert fresh.result.passed and fresh.failing.num_rows == 0
    assert not stale.result.passed and stale.failing.num_rows == 4  # the whole batch is late
    assert stale.result.detail == "newest at is 60 s old (limit 30 s)"


def test_row_count_anomaly_against_recent_runs() -> None:
    check = CheckSpec(check="row_count_anomaly", factor=3)
    assert outcome(check, recent_row_counts=[5, 4, 6]).result.passed
    low = outcome(check, recent_row_counts=[40, 50, 60])
    assert not low.result.passed and "4 rows against a median of 50" in low.result.detail
    assert outcome(check, recent_row_counts=[900, 1000]).result.passed  # two runs: too few to judge


def test_custom_sql_returns_the_failing_rows() -> None:
    result = outcome(
        CheckSpec(check="sql", sql="select * from batch where amount > 100 and country = 'xx'")
    )
    assert failing_ids(result) == [4]


@pytest.mark.parametrize(
    ("check", "needs"),
    [
        ("accepted_values", "column, values"),
        ("freshness", "column, max_age_seconds"),
        ("sql", "sql"),
    ],
)
def test_a_check_without_what_it_needs_is_refused(check: str, needs: str) -> None:
    with pytest.raises(ValueError, match=f"needs {needs}"):
        CheckSpec(check=check)  # type: ignore[arg-type]


def test_a_bad_lookback_interval_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "m.sql"
    path.write_text(
        "/* ---\nname: gold.x\nmaterialized: append\ndescription: d\n--- */\n"
        "select *\nfrom ref_since('silver.events', 'a while')\n"
    )
    with pytest.raises(ModelDefinitionError, match=r"m\.sql:7: interval `a while` must look like"):
        load_sql_model(path)


def test_a_model_reading_this_must_type_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "m.sql"
    path.write_text(
        "/* ---\nname: gold.x\nmaterialized: merge\nunique_key: [id]\ndescription: d\n"
        "columns:\n  id: {description: no type}\n--- */\nselect * from this()\n"
    )
    with pytest.raises(ModelDefinitionError, match=r"every output column a `type`.*\['id'\]"):
        load_sql_model(path)
