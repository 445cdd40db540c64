"""The column lineage of served queries: what each output column is computed from, what the
query reads, and what is masked when that cannot be told."""

import logging

import pytest

from dataplatform.core.query_lineage import ROWS, AnswerLineage, SourceColumn, answer_lineage

SUMMARY = "mobile_user_analytics.gold.user_summary"
EVENTS = "mobile_user_analytics.gold.events"
TABLES = {"s": SUMMARY, "e": EVENTS}
COLUMNS = {"s": ["user_id", "events", "last_seen"], "e": ["event", "user_ref"]}
PII = {SUMMARY: frozenset({"user_id"}), EVENTS: frozenset()}


def traced(sql: str, *output_names: str) -> AnswerLineage:
    return answer_lineage(sql, TABLES, COLUMNS, output_names)


def sources(lineage: AnswerLineage, column: str) -> set[tuple[str, str]]:
    return {(source.table, source.column) for source in lineage.columns[column].sources}


@pytest.mark.parametrize(
    ("case", "sql", "output_names"),
    [
        (
            "join",
            "select e.event, s.user_id from e join s on s.user_id = e.user_ref",
            ["event", "user_id"],
        ),
        ("alias", "select user_id as uid, events from s", ["uid", "events"]),
        ("expression", "select lower(user_id) as who from s", ["who"]),
        (
            "concat_and_coalesce",
            "select coalesce(concat(user_id, '!'), e.event) as x from s, e",
            ["x"],
        ),
        ("star", "select * from s", ["user_id", "events", "last_seen"]),
        (
            "table_star",
            "select s.*, e.event from s join e on e.user_ref = s.user_id",
            ["user_id", "events", "last_seen", "event"],
        ),
        ("cte", "with u as (select user_id as who from s) select who from u", ["who"]),
        ("subquery", "select x from (select user_id || '!' as x from s) as t", ["x"]),
        (
            "scalar_subquery",
            "select (select max(user_id) from s) as top, event from e",
            ["top", "event"],
        ),
        ("union", "select event as who from e union all select user_id from s", ["who"]),
        ("aggregate", "select list(user_id) as everyone from s", ["everyone"]),
        ("window", "select first_value(user_id) over (order by events) as top from s", ["top"]),
    ],
)
def test_a_column_computed_from_pii_is_revealing_whatever_its_name_or_table(
    case: str, sql: str, output_names: list[str]
) -> None:
    lineage = traced(sql, *output_names)

    revealing = lineage.revealing(PII)

    masked_name = {"join": "user_id", "alias": "uid", "star": "user_id", "table_star": "user_id"}
    assert masked_name.get(case, output_names[0]) in revealing, case
    assert all(lineage.columns[name].unknown is None for name in output_names), case
    # The columns that carry no PII stay served.
    assert revealing <= {"user_id", "uid", "who", "x", "top", "everyone"}, case


def test_sources_are_traced_through_a_cte_a_join_and_aliases() -> None:
    lineage = traced(
        """
        with per_user as (select user_id as uid, count(*) as n from s group by 1)
        select e.event, p.uid as owner, p.n from e join per_user as p on p.uid = e.user_ref
        """,
        "event",
        "owner",
        "n",
    )

    assert sources(lineage, "event") == {(EVENTS, "event")}
    assert sources(lineage, "owner") == {(SUMMARY, "user_id")}
    assert sources(lineage, "n") == {(SUMMARY, ROWS)}
    assert lineage.tables == (EVENTS, SUMMARY)


def test_counts_reveal_no_value_so_they_are_served() -> None:
    lineage = traced(
        "select count(distinct user_id) as users, count(*) filter (where user_id = 'ann') as anns, "
        "approx_count_distinct(user_id) as approx, max(user_id) as last from s",
        "users",
        "anns",
        "approx",
        "last",
    )

    assert lineage.revealing(PII) == {"last"}
    assert sources(lineage, "users") == {(SUMMARY, ROWS)}


def test_a_table_read_only_in_a_filter_is_read_but_reveals_nothing() -> None:
    lineage = traced("select event from e where user_ref in (select user_id from s)", "event")

    assert lineage.tables == (EVENTS, SUMMARY)
    assert lineage.revealing(PII) == frozenset()
    assert lineage.columns_of(SUMMARY) == ()
    assert lineage.columns_of(EVENTS) == ("event",)


def test_two_answer_columns_of_one_name_share_their_sources() -> None:
    # DuckDB answers two columns named `dup`; a row dict keeps one, which carries either.
    lineage = traced("select e.event as dup, s.user_id as dup from s, e", "dup", "dup")

    assert sources(lineage, "dup") == {(EVENTS, "event"), (SUMMARY, "user_id")}
    assert lineage.revealing(PII) == {"dup"}


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("select to_json(s) as j from s", "`s` reads columns SQLGlot cannot name"),
        ("select columns('user.*') as j from s", "reads columns SQLGlot cannot name"),
        ("select #1 as j from s", "`#1` reads columns SQLGlot cannot name"),
        ("select nope as j from s", "table `s` has no column `nope`"),
        ("select j from (", "SQLGlot cannot resolve the query"),
    ],
)
def test_a_column_of_unknown_lineage_is_masked_and_the_reason_logged(
    sql: str, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dataplatform.core.query_lineage"):
        lineage = traced(sql, "j")

    assert lineage.revealing({}) == {"j"}  # even with no PII anywhere: fail closed
    assert why in (lineage.columns["j"].unknown or "")
    (record,) = [r for r in caplog.records if getattr(r, "column", None) == "j"]
    assert why in record.reason  # type: ignore[attr-defined]


def test_a_query_that_cannot_be_parsed_audits_every_table_it_was_given() -> None:
    lineage = traced("select j from (", "j")

    assert lineage.tables == (EVENTS, SUMMARY)
    assert lineage.columns_of(EVENTS) == ("j",)


def test_an_answer_of_another_width_than_the_query_trusts_no_column() -> None:
    # `columns(...)` widens to as many columns as match: positions no longer line up.
    lineage = traced("select columns('.*') from s", "user_id", "events", "last_seen")

    assert lineage.revealing({}) == {"user_id", "events", "last_seen"}


def test_parameter_casts_the_duckdb_way_are_traced() -> None:
    lineage = traced(
        "with wanted as (select unnest(?::integer[]) as n) select n, user_id from wanted, s",
        "n",
        "user_id",
    )

    assert lineage.columns["n"].unknown is None
    assert lineage.revealing(PII) == {"user_id"}


def test_lineage_is_traced_once_per_query_and_table_columns() -> None:
    sql = "select user_id as cached_uid from s"

    first = traced(sql, "cached_uid")
    again = traced(sql, "cached_uid")
    other_columns = answer_lineage(
        sql, TABLES, {**COLUMNS, "s": ["user_id", "country"]}, ["cached_uid"]
    )

    assert again is first
    assert other_columns is not first
    assert sources(other_columns, "cached_uid") == {(SUMMARY, "user_id")}


def test_a_whole_table_is_its_own_lineage() -> None:
    lineage = AnswerLineage.whole_table(SUMMARY, ["user_id", "events"])

    assert lineage.revealing(PII) == {"user_id"}
    assert lineage.columns_of(SUMMARY) == ("user_id", "events")
    assert lineage.columns["events"].sources == {SourceColumn(SUMMARY, "events")}
