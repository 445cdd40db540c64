"""Model declarations and the model graph: what is accepted, and each error with file and line."""

import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from dataplatform.core.processing import (
    ModelDefinitionError,
    build_graph,
    load_sql_model,
    python_model,
)

PRODUCT = "web_user_analytics"
BRONZE = ["bronze.clickstream"]


def sql_file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def model(folder: Path, file: str, name: str, body: str, extra: str = "") -> Path:
    header = f"/* ---\nname: {name}\nmaterialized: append\ndescription: test model\n{extra}--- */\n"
    return sql_file(folder, file, header + textwrap.dedent(body))


def test_a_model_file_gives_its_header_body_and_references(tmp_path: Path) -> None:
    path = sql_file(
        tmp_path,
        "sessions.sql",
        """
        /* ---
        name: silver.sessions
        materialized: merge
        unique_key: [session_id]
        description: Web sessions.
        columns:
          user_id: {description: Who, tags: [pii]}
        checks:
          - {check: not_null, column: session_id}
          - {check: accepted_values, column: device, values: [desktop, mobile], severity: warn}
        --- */
        select *
        from ref('silver.page_views') as views
        join source('mobile-user-analytics', 'gold.user_summary') as summary using (user_id)
        """,
    )

    declared = load_sql_model(path)

    assert declared.name == "silver.sessions"
    assert declared.header.unique_key == ["session_id"]
    assert declared.header.columns["user_id"].tags == ["pii"]
    assert [c.severity for c in declared.header.checks] == ["error", "warn"]
    assert declared.body_line == 12
    assert [(r.table, r.product, r.line) for r in declared.references] == [
        ("silver.page_views", None, 13),
        ("gold.user_summary", "mobile_user_analytics", 14),
    ]


@pytest.mark.parametrize(
    ("text", "line", "complaint"),
    [
        ("select 1\n", 1, "must start with a header"),
        (
            "/* ---\nname: silver.x\n  materialized: [append\n--- */\nselect 1\n",
            3,
            "not valid YAML",
        ),
        (
            "/* ---\nname: silver.x\nmaterialised: append\ndescription: d\n--- */\nselect 1\n",
            3,
            "unknown header key `materialised`. Did you mean `materialized`?",
        ),
        (
            "/* ---\nname: silver.x\nmaterialized: merge\ndescription: d\n--- */\nselect 1\n",
            2,
            "merge` needs a unique_key",
        ),
        (
            "/* ---\nname: sessions\nmaterialized: append\ndescription: d\n--- */\nselect 1\n",
            2,
            "must be `<layer>.<table>`",
        ),
        (
            "/* ---\nname: silver.x\nmaterialized: append\n--- */\nselect 1\n",
            2,
            "header `description`: Field required",
        ),
        (
            "/* ---\nname: silver.x\nmaterialized: append\ndescription: d\nchecks:\n  - {check: accepted_values, column: c}\n--- */\nselect 1\n",
            6,
            "check `accepted_values` needs values",
        ),
        (
            "/* ---\nname: silver.x\nmaterialized: append\ndescription: d\n--- */\nselect 1\nfrom source('mobile-user-analytics', 'silver.sessions')\n",
            7,
            "only gold tables are published",
        ),
        (
            "/* ---\nname: silver.x\nmaterialized: append\ndescription: d\n--- */\nselect * from ref('sessions')\n",
            6,
            "must name `<layer>.<table>`",
        ),
    ],
)
def test_a_bad_model_file_names_the_line_and_what_to_fix(
    tmp_path: Path, text: str, line: int, complaint: str
) -> None:
    path = sql_file(tmp_path, "bad.sql", text)

    with pytest.raises(ModelDefinitionError) as error:
        load_sql_model(path)

    assert error.value.line == line, str(error.value)
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert complaint in str(error.value)


def test_models_run_after_what_they_read(tmp_path: Path) -> None:
    models = [
        load_sql_model(
            model(tmp_path, "a.sql", "gold.pages", "select * from ref('silver.page_views')")
        ),
        load_sql_model(
            model(tmp_path, "b.sql", "silver.page_views", "select * from ref('bronze.clickstream')")
        ),
        load_sql_model(
            model(tmp_path, "c.sql", "silver.sessions", "select * from ref('silver.page_views')")
        ),
        load_sql_model(
            model(
                tmp_path,
                "d.sql",
                "gold.overview",
                "select * from ref('silver.sessions') join ref('gold.pages') using (day)",
            )
        ),
    ]

    graph = build_graph(PRODUCT, models, BRONZE)

    assert [name.split(".", 1)[1] for name in graph.order()] == [
        "silver.page_views",
        "gold.pages",
        "silver.sessions",
        "gold.overview",
    ]
    assert graph.inputs[f"{PRODUCT}.gold.overview"] == (
        f"{PRODUCT}.silver.sessions",
        f"{PRODUCT}.gold.pages",
    )
    assert graph.downstream(f"{PRODUCT}.silver.sessions") == [f"{PRODUCT}.gold.overview"]
    assert len(graph.downstream(f"{PRODUCT}.bronze.clickstream")) == 4


def test_an_unknown_ref_names_file_line_and_the_closest_table(tmp_path: Path) -> None:
    path = model(
        tmp_path, "pages.sql", "gold.pages", "select *\nfrom ref('silver.page_view')\n"
    )  # lines 6, 7

    with pytest.raises(ModelDefinitionError) as error:
        build_graph(PRODUCT, [load_sql_model(path)], ["bronze.clickstream", "silver.page_views"])

    assert str(error.value) == (
        f"{path}:7: ref('silver.page_view') names no model or table of `{PRODUCT}`. "
        "Did you mean `silver.page_views`?"
    )


def test_a_cycle_is_refused_naming_every_model_in_it(tmp_path: Path) -> None:
    models = [
        load_sql_model(model(tmp_path, "a.sql", "silver.a", "select * from ref('silver.b')")),
        load_sql_model(model(tmp_path, "b.sql", "silver.b", "select * from ref('silver.c')")),
        load_sql_model(model(tmp_path, "c.sql", "silver.c", "select * from ref('silver.a')")),
    ]

    with pytest.raises(ModelDefinitionError, match="models read each other in a cycle") as error:
        build_graph(PRODUCT, models, BRONZE)

    for name, file in (("silver.a", "a.sql"), ("silver.b", "b.sql"), ("silver.c", "c.sql")):
        assert f"{name} ({file})" in str(error.value)


def test_a_model_reading_itself_is_refused(tmp_path: Path) -> None:
    path = model(tmp_path, "a.sql", "silver.a", "select * from ref('silver.a')")

    with pytest.raises(ModelDefinitionError, match=r":6: model `silver\.a` reads itself"):
        build_graph(PRODUCT, [load_sql_model(path)], BRONZE)


def test_two_files_for_one_table_are_refused(tmp_path: Path) -> None:
    first = load_sql_model(model(tmp_path, "a.sql", "silver.a", "select 1"))
    second = load_sql_model(model(tmp_path, "b.sql", "silver.a", "select 2"))

    with pytest.raises(ModelDefinitionError, match="also defined in"):
        build_graph(PRODUCT, [first, second], BRONZE)


def test_a_python_model_declares_its_inputs_and_lineage(tmp_path: Path) -> None:
    @python_model(
        name="gold.segments",
        materialized="replace",
        description="Clusters of users.",
        inputs=["silver.sessions"],
        schema=pa.schema([("segment", pa.int64())]),
        lineage={"segment": ["silver.sessions.duration"]},
    )
    def segments(sessions: pa.Table) -> pa.Table:
        return sessions

    upstream = load_sql_model(
        model(tmp_path, "s.sql", "silver.sessions", "select * from ref('bronze.clickstream')")
    )
    graph = build_graph(PRODUCT, [segments, upstream], BRONZE)

    assert graph.order()[-1] == f"{PRODUCT}.gold.segments"
    assert segments.lineage == {"segment": ["silver.sessions.duration"]}


def test_a_python_model_with_a_bad_header_is_refused_at_declaration() -> None:
    with pytest.raises(ModelDefinitionError, match="unknown header key `materialize`"):

        @python_model(
            name="gold.x", materialize="replace", description="d", inputs=[], schema=pa.schema([])
        )
        def broken(table: pa.Table) -> pa.Table:
            return table


def test_var_writes_a_setting_into_the_sql_as_a_literal(tmp_path: Path) -> None:
    path = model(
        tmp_path,
        "sessions.sql",
        "silver.sessions",
        """
        select * from ref('silver.page_views')
        where gap_minutes > var('session_timeout_minutes')
          and timezone = var( "reporting_timezone" ) and bots = var('exclude_bots')
        """,
    )

    declared = load_sql_model(
        path,
        {
            "session_timeout_minutes": 30,
            "reporting_timezone": "Europe/L'Aquila",
            "exclude_bots": True,
        },
    )

    assert "gap_minutes > 30" in declared.sql
    assert "timezone = 'Europe/L''Aquila'" in declared.sql
    assert "bots = true" in declared.sql


def test_an_unknown_var_names_the_file_line_and_the_settings(tmp_path: Path) -> None:
    path = model(
        tmp_path,
        "sessions.sql",
        "silver.sessions",
        "select 1 as a\nfrom ref('silver.page_views')\nwhere a > var('session_timout_minutes')\n",
    )

    with pytest.raises(ModelDefinitionError) as error:
        load_sql_model(path, {"session_timeout_minutes": 30, "exclude_bots": True})

    assert str(error.value).startswith(f"{path}:8:")  # the third line of the body
    assert "var('session_timout_minutes') names no setting" in str(error.value)
    assert "Did you mean `session_timeout_minutes`?" in str(error.value)


def test_a_list_var_is_a_duckdb_list_and_a_mapping_is_refused(tmp_path: Path) -> None:
    path = model(tmp_path, "a.sql", "silver.a", "select var('days') as d from ref('silver.b')\n")

    assert "select [1, 7, 30] as d" in load_sql_model(path, {"days": [1, 7, 30]}).sql
    assert "select ['a''b'] as d" in load_sql_model(path, {"days": ["a'b"]}).sql
    with pytest.raises(ModelDefinitionError, match=r"var\('days'\) is a dict"):
        load_sql_model(path, {"days": {"a": 1}})
    with pytest.raises(ModelDefinitionError, match=r"var\('days'\) is a list"):
        load_sql_model(path, {"days": [[1]]})


def test_an_input_read_twice_is_one_input(tmp_path: Path) -> None:
    model(
        tmp_path,
        "a.sql",
        "silver.a",
        "select * from ref('bronze.clickstream') union all "
        "select * from ref_since('bronze.clickstream', '1 hour')\n",
    )

    graph = build_graph(PRODUCT, [load_sql_model(tmp_path / "a.sql")], BRONZE)

    assert graph.inputs[f"{PRODUCT}.silver.a"] == (f"{PRODUCT}.bronze.clickstream",)
