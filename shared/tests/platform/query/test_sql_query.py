"""`POST /query` and saved queries through a real gateway: read-only SQL over catalogued tables,
PII masked through joins and aliases, every read audited, and every way out of the sandbox
refused with a 422 that names it."""

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet
import pytest

from dataplatform.testing import RunningGateway, platform_settings, running_gateway

SUMMARY = "mobile_user_analytics.gold.user_summary"
EVENTS = "mobile_user_analytics.gold.events"
SILVER = "mobile_user_analytics.silver.app_events"
TIMEOUT_SECONDS = 2.0


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    folder = tmp_path_factory.mktemp("query")
    settings = platform_settings(
        f"sqlite:///{folder / 'platform.db'}",
        folder / "lake",
        query={"timeout_seconds": TIMEOUT_SECONDS, "memory_limit_mb": 128, "max_rows": 100},
    )
    with running_gateway(settings) as running:
        lake = running.services.lake
        lake.append(
            SUMMARY,
            pa.table(
                {
                    "user_id": ["ann", "bob", "cid"],
                    "events": [3, 5, 1],
                    "last_seen": pa.array(
                        [datetime(2026, 11, 20, h, tzinfo=UTC) for h in (9, 10, 11)],
                        pa.timestamp("us", "UTC"),
                    ),
                }
            ),
        )
        lake.append(EVENTS, pa.table({"event": ["open", "buy"], "events": [8, 1]}))
        lake.append(SILVER, pa.table({"event_id": ["e1"], "user_id": ["ann"]}))
        yield running


@pytest.fixture(scope="module")
def analyst(gateway: RunningGateway) -> dict[str, str]:
    return gateway.headers_for("ana", ["analyst"])


def post(
    gateway: RunningGateway, path: str, headers: dict[str, str], **body: Any
) -> httpx.Response:
    return httpx.post(f"{gateway.url}{path}", json=body, headers=headers)


def rows(gateway: RunningGateway, headers: dict[str, str], sql: str, **body: Any) -> Any:
    response = post(gateway, "/query", headers, sql=sql, **body)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_analyst_queries_gold_tables_with_pii_masked(
    gateway: RunningGateway, analyst: dict[str, str]
) -> None:
    sql = f"select user_id, events from {SUMMARY} where events > 2 order by events"

    answer = rows(gateway, analyst, sql)
    admin = rows(gateway, gateway.admin, sql)

    assert answer["columns"] == ["user_id", "events"]
    assert answer["rows"] == [{"user_id": "***", "events": 3}, {"user_id": "***", "events": 5}]
    assert admin["rows"] == [{"user_id": "ann", "events": 3}, {"user_id": "bob", "events": 5}]
    assert (answer["truncated"], answer["row_count"], answer["max_rows"]) == (False, 2, 100)


@pytest.mark.parametrize(
    "sql",
    [
        f"select upper(s.user_id) as who from {SUMMARY} as s",
        f"with u as (select user_id as uid from {SUMMARY}) select uid || '!' as who from u",
        f"select who from (select user_id as who from {SUMMARY}) as t",
        f"select s.user_id as who from {EVENTS} as e join {SUMMARY} as s on e.events = s.events + 5",
        f"select min(user_id) as who from {SUMMARY}",
    ],
    ids=["expression", "cte", "subquery", "join", "aggregate"],
)
def test_pii_is_masked_through_aliases_expressions_and_joins(
    gateway: RunningGateway, analyst: dict[str, str], sql: str
) -> None:
    answer = rows(gateway, analyst, sql)

    assert answer["rows"] and all(row["who"] == "***" for row in answer["rows"])


def test_counting_people_reveals_no_one(gateway: RunningGateway, analyst: dict[str, str]) -> None:
    answer = rows(gateway, analyst, f"select count(distinct user_id) as people from {SUMMARY}")

    assert answer["rows"] == [{"people": 3}]


def test_every_read_is_audited(gateway: RunningGateway) -> None:
    auditor = gateway.headers_for("audra", ["analyst"])
    rows(gateway, auditor, f"select e.event from {EVENTS} as e join {SUMMARY} as s on true")
    gateway.services.audit.flush()

    for table in (EVENTS, SUMMARY):
        reads = gateway.services.audit_log.search(action="data.read", table=table).rows
        assert any(read.entry.actor == "audra" for read in reads), table


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("create table x as select 1", "`CREATE`"),
        ("drop table mobile_user_analytics.gold.events", "`DROP`"),
        ("alter table mobile_user_analytics.gold.events add column x int", "`ALTER`"),
        ("insert into mobile_user_analytics.gold.events values ('x', 1)", "`INSERT`"),
        ("update mobile_user_analytics.gold.events set events = 0", "`UPDATE`"),
        ("delete from mobile_user_analytics.gold.events", "`DELETE`"),
        ("select * from read_parquet('/etc/passwd')", "`read_parquet`"),
        ("select * from read_csv('/etc/passwd')", "`read_csv`"),
        ("select * from '/etc/passwd'", "No table `/etc/passwd`"),
        ("select * from glob('/*')", "`glob`"),
        ("select * from duckdb_settings()", "`duckdb_settings`"),
        ("select getenv('HOME')", "`getenv`"),
        ("copy (select 1) to '/tmp/out.csv'", "`COPY`"),
        ("attach '/tmp/other.db'", "`ATTACH`"),
        ("pragma database_list", "`PRAGMA`"),
        ("set memory_limit = '64GB'", "`SET`"),
        ("install httpfs", "`INSTALL`"),
        ("load httpfs", "`LOAD`"),
        ("call pragma_version()", "`CALL`"),
        ("select 1; select 2", "one statement, not 2"),
        ("select 1; drop table x", "one statement, not 2"),
        ("selec 1", "not SQL DuckDB reads"),
    ],
)
def test_anything_but_one_select_over_catalogued_tables_is_refused_naming_it(
    gateway: RunningGateway, analyst: dict[str, str], sql: str, named: str
) -> None:
    response = post(gateway, "/query", analyst, sql=sql)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "body.sql"
    assert named in response.json()["detail"]


def test_an_unknown_table_is_refused_with_a_suggestion(
    gateway: RunningGateway, analyst: dict[str, str]
) -> None:
    response = post(
        gateway, "/query", analyst, sql="select * from mobile_user_analytics.gold.event"
    )

    assert response.status_code == 422
    assert "mobile_user_analytics.gold.events" in response.json()["detail"]


def test_silver_needs_its_own_permission(gateway: RunningGateway, analyst: dict[str, str]) -> None:
    gateway.services.auth.roles.create(
        "silver-analyst", ["query:run", "query:silver", "product:*:read"], "test"
    )
    deep = gateway.headers_for("sil", ["silver-analyst"])
    sql = f"select event_id from {SILVER}"

    refused = post(gateway, "/query", analyst, sql=sql)

    assert refused.status_code == 403
    assert "query:silver" in refused.json()["detail"]
    assert rows(gateway, deep, sql)["rows"] == [{"event_id": "e1"}]


def test_a_product_the_caller_may_not_read_is_refused(gateway: RunningGateway) -> None:
    gateway.services.auth.roles.create(
        "web-analyst", ["query:run", "product:web-user-analytics:read"], "test"
    )
    web_only = gateway.headers_for("wes", ["web-analyst"])

    response = post(gateway, "/query", web_only, sql=f"select * from {EVENTS}")

    assert response.status_code == 403
    assert "product:mobile-user-analytics:read" in response.json()["detail"]


def test_viewers_may_not_run_sql(gateway: RunningGateway) -> None:
    viewer = gateway.headers_for("vic", ["viewer"])

    assert post(gateway, "/query", viewer, sql="select 1").status_code == 403
    assert post(gateway, "/query", {}, sql="select 1").status_code == 401


def test_rows_past_the_limit_are_cut_and_said_so(
    gateway: RunningGateway, analyst: dict[str, str]
) -> None:
    asked = rows(gateway, analyst, "select range as n from range(25) order by n", max_rows=10)
    capped = rows(gateway, analyst, "select range as n from range(1000)", max_rows=5000)
    own_limit = rows(gateway, analyst, "select range as n from range(25) order by n limit 3")

    assert [row["n"] for row in asked["rows"]] == list(range(10)) and asked["truncated"]
    assert capped["row_count"] == 100 and capped["truncated"]  # the platform's `query.max_rows`
    assert own_limit["row_count"] == 3 and not own_limit["truncated"]


def test_a_query_past_its_timeout_is_cancelled_and_the_next_one_runs(
    gateway: RunningGateway, analyst: dict[str, str]
) -> None:
    endless = "select count(*) as n from range(1000000000000) as a"

    response = post(gateway, "/query", analyst, sql=endless)

    assert response.status_code == 422, response.text
    assert f"ran past its {TIMEOUT_SECONDS:g} s and was cancelled" in response.json()["detail"]
    assert rows(gateway, analyst, "select 1 as one")["rows"] == [{"one": 1}]


def test_a_query_needing_more_than_the_memory_cap_fails_alone(
    gateway: RunningGateway, analyst: dict[str, str]
) -> None:
    greedy = "select list(range) as everything from range(100000000)"

    response = post(gateway, "/query", analyst, sql=greedy)

    assert response.status_code == 422, response.text
    assert "more than the 128 MB" in response.json()["detail"]
    assert rows(gateway, analyst, f"select count(*) as n from {SUMMARY}")["rows"] == [{"n": 3}]


def test_a_wrong_column_is_a_422_with_duckdbs_reason(
    gateway: RunningGateway, analyst: dict[str, str]
) -> None:
    response = post(gateway, "/query", analyst, sql=f"select nope from {SUMMARY}")

    assert response.status_code == 422
    assert "nope" in response.json()["detail"]


def test_answers_as_csv_and_parquet_with_pii_masked(
    gateway: RunningGateway, analyst: dict[str, str]
) -> None:
    sql = f"select user_id, events from {SUMMARY} order by events"

    csv = post(gateway, "/query", analyst, sql=sql, format="csv")
    parquet = post(gateway, "/query", analyst, sql=sql, format="parquet")

    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    table = pyarrow.csv.read_csv(io.BytesIO(csv.content))
    assert table.to_pylist() == [
        {"user_id": "***", "events": 1},
        {"user_id": "***", "events": 3},
        {"user_id": "***", "events": 5},
    ]
    assert parquet.status_code == 200 and parquet.headers["x-truncated"] == "false"
    assert pyarrow.parquet.read_table(io.BytesIO(parquet.content)).to_pylist() == table.to_pylist()


def test_saved_queries_are_kept_listed_run_by_viewers_and_deleted(
    gateway: RunningGateway, analyst: dict[str, str]
) -> None:
    viewer = gateway.headers_for("val", ["viewer"])
    sql = f"select user_id, events from {SUMMARY} order by events desc limit 1"

    saved = post(gateway, "/query/saved", analyst, name="busiest", sql=sql, description="Top user")
    again = post(gateway, "/query/saved", analyst, name="busiest", sql=sql)
    by_viewer = post(gateway, "/query/saved", viewer, name="mine", sql=sql)
    listed = httpx.get(f"{gateway.url}/query/saved", headers=viewer).json()["queries"]
    run = post(gateway, "/query/saved/busiest/run", viewer)
    deleted = httpx.delete(f"{gateway.url}/query/saved/busiest", headers=analyst)
    gone = post(gateway, "/query/saved/busiest/run", viewer)

    assert saved.status_code == 201 and saved.json()["created_by"] == "ana"
    assert again.status_code == 409
    assert by_viewer.status_code == 403
    assert [(q["name"], q["description"]) for q in listed] == [("busiest", "Top user")]
    assert run.json()["rows"] == [{"user_id": "***", "events": 5}]
    assert deleted.status_code == 204 and gone.status_code == 404


def test_a_query_that_would_not_run_is_not_saved(
    gateway: RunningGateway, analyst: dict[str, str]
) -> None:
    response = post(gateway, "/query/saved", analyst, name="bad", sql="drop table x")

    assert response.status_code == 422 and response.json()["field"] == "body.sql"
    assert httpx.get(f"{gateway.url}/query/saved/bad", headers=analyst).status_code == 404
