"""Column lineage of SQL models, edge by edge."""

import textwrap
from pathlib import Path

import pytest

from dataplatform.core.processing import (
    ROWS,
    ColumnEdge,
    ModelDefinitionError,
    column_lineage,
    load_sql_model,
)

WEB = "web_user_analytics"
SCHEMAS = {
    f"{WEB}.silver.page_views": {"user_id": "text", "ts": "timestamp", "path": "text"},
    f"{WEB}.silver.sessions": {"user_id": "text", "day": "date", "sessions": "int"},
    "mobile_user_analytics.gold.user_summary": {"user_id": "text", "country": "text"},
}


def model(tmp_path: Path, body: str, name: str = "gold.activity") -> object:
    path = tmp_path / "model.sql"
    header = f"/* ---\nname: {name}\nmaterialized: replace\ndescription: test\n--- */\n"
    path.write_text(header + textwrap.dedent(body))
    return load_sql_model(path)


def edge(source: str, column: str, target_column: str) -> ColumnEdge:
    return ColumnEdge(source, column, f"{WEB}.gold.activity", target_column)


def test_lineage_through_a_cte_a_join_and_aliases(tmp_path: Path) -> None:
    declared = model(
        tmp_path,
        """
        with daily as (
            select v.user_id as uid, date_trunc('day', v.ts) as day, count(*) as views
            from ref('silver.page_views') as v
            group by 1, 2
        )
        select d.uid as user_id, d.day, d.views + coalesce(s.sessions, 0) as activity, u.country
        from daily as d
        join ref('silver.sessions') as s on s.user_id = d.uid and s.day = d.day
        left join source('mobile-user-analytics', 'gold.user_summary') u on u.user_id = d.uid
        """,
    )

    edges = column_lineage(declared, WEB, SCHEMAS)  # type: ignore[arg-type]

    page_views, sessions = f"{WEB}.silver.page_views", f"{WEB}.silver.sessions"
    summary = "mobile_user_analytics.gold.user_summary"
    assert edge(page_views, "user_id", "user_id") in edges
    assert edge(page_views, "ts", "day") in edges
    assert edge(page_views, ROWS, "activity") in edges  # count(*) of page views
    assert edge(sessions, "sessions", "activity") in edges
    assert edge(summary, "country", "country") in edges
    assert len(edges) == 5


def test_a_star_is_expanded_from_the_input_schema(tmp_path: Path) -> None:
    declared = model(tmp_path, "select * from ref('silver.sessions')")

    edges = column_lineage(declared, WEB, SCHEMAS)  # type: ignore[arg-type]

    assert [(e.source_column, e.target_column) for e in edges] == [
        ("day", "day"),
        ("sessions", "sessions"),
        ("user_id", "user_id"),
    ]


def test_sql_that_does_not_parse_names_the_model_file(tmp_path: Path) -> None:
    declared = model(tmp_path, "select (user_id from ref('silver.sessions')")

    with pytest.raises(ModelDefinitionError, match=r"model\.sql:6: lineage"):
        column_lineage(declared, WEB, SCHEMAS)  # type: ignore[arg-type]
