"""Right to erasure end to end, through a real gateway: zoe and max use the app and the website,
both products' models (and user-segmentation's, which joins them into one person) run twice
over their events, then zoe is erased.

    app (bronze mobile_user_analytics.bronze.app_events), install anon-zoe-phone:
      first  a screen before sign-in (anonymous only), identify as zoe-4471, app_open
      second a purchase as zoe-4471; an app_open of her old account zoe-old-account
    website (bronze web_user_analytics.bronze.clickstream), browser anon-zoe-browser:
      first  a page view before sign-in, identify as zoe-4471, a page view signed in
      second alias zoe-old-account -> zoe-4471
    quarantine of the app: one rejected payload naming zoe-4471, one naming max-2208
    max-2208 (install anon-max-phone, browser anon-max-browser) does the same minus the alias.

Linked to zoe-4471, by hand: anon-zoe-phone and anon-zoe-browser (events carrying both ids)
and zoe-old-account (her alias). Her bronze rows: 5 in the app (3 + purchase + old account),
4 on the website (2 page views, identify, alias); 1 quarantined payload.
"""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import ENVELOPE_SCHEMA, QUARANTINE_SCHEMA
from dataplatform.core.processing import ModelRunner
from dataplatform.core.product import get_product
from dataplatform.platform.collector import from_segment
from dataplatform.testing import RunningGateway, platform_settings, running_gateway

MOBILE = "mobile_user_analytics.bronze.app_events"
WEB = "web_user_analytics.bronze.clickstream"
QUARANTINE = "mobile_user_analytics.quarantine.app_events"
ZOE = "zoe-4471"
ZOE_IDS = (ZOE, "anon-zoe-phone", "anon-zoe-browser", "zoe-old-account")
MAX = "max-2208"
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def item(
    kind: str, minute: int, user: str | None, anon: str | None, **fields: Any
) -> dict[str, Any]:
    """A Segment item `minute` minutes after START."""
    body: dict[str, Any] = {
        "type": kind,
        "messageId": f"{kind}-{user or anon}-{minute}",
        "timestamp": (START + timedelta(minutes=minute)).isoformat(),
        **fields,
    }
    if user:
        body["userId"] = user
    if anon:
        body["anonymousId"] = anon
    return body


def app(
    kind: str, minute: int, user: str | None, anon: str | None, **fields: Any
) -> dict[str, Any]:
    context = {
        "app": {"version": "3.2.0"},
        "os": {"name": "iOS"},
        "device": {"id": f"{anon}-device"},
    }
    return item(kind, minute, user, anon, context=context, **fields)


def web(
    kind: str, minute: int, user: str | None, anon: str | None, **fields: Any
) -> dict[str, Any]:
    path = "/shop"
    context = {
        "page": {"url": f"https://shop.example.com{path}", "path": path},
        "userAgent": "Mozilla/5.0",
    }
    return item(kind, minute, user, anon, context=context, **fields)


def first_round() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    mobile = [
        app("screen", 0, None, "anon-zoe-phone", name="Home"),
        app("identify", 1, ZOE, "anon-zoe-phone", traits={"plan": "gold"}),
        app("track", 2, ZOE, "anon-zoe-phone", event="app_open"),
        app("identify", 3, MAX, "anon-max-phone"),
        app("track", 4, MAX, "anon-max-phone", event="app_open"),
    ]
    website = [
        web("page", 0, None, "anon-zoe-browser", name="/shop"),
        web("identify", 1, ZOE, "anon-zoe-browser"),
        web("page", 2, ZOE, "anon-zoe-browser", name="/shop"),
        web("page", 3, MAX, "anon-max-browser", name="/shop"),
    ]
    return mobile, website


def second_round() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    mobile = [
        app("track", 60, ZOE, "anon-zoe-phone", event="purchase", properties={"revenue": 5}),
        app("track", 61, "zoe-old-account", None, event="app_open"),
        app("track", 62, MAX, "anon-max-phone", event="tap"),
    ]
    website = [
        web("alias", 60, ZOE, "anon-zoe-browser", previousId="zoe-old-account"),
        web("page", 61, MAX, "anon-max-browser", name="/cart"),
    ]
    return mobile, website


def to_bronze(lake: Lakehouse, table: str, items: list[dict[str, Any]], source: str) -> None:
    rows = [
        from_segment(i, received_at=datetime.fromisoformat(i["timestamp"]), source_id=source)
        for i in items
    ]
    lake.append(table, pa.Table.from_pylist(rows, ENVELOPE_SCHEMA))


def quarantined(user: str) -> dict[str, Any]:
    return {
        "received_at": START,
        "source_id": "ios-app",
        "wire_format": "segment",
        "batch_index": 0,
        "field": "type",
        "reason": "must be one of track, page, ...",
        "raw": orjson.dumps({"type": "bogus", "userId": user}).decode(),
    }


@dataclass
class Erased:
    gateway: RunningGateway
    lake: Lakehouse
    report: dict[str, Any]
    before: dict[str, tuple[int, int, int]]  # table -> (version, zoe's rows, max's rows)
    runners: list[ModelRunner]
    admin: dict[str, str]
    cursor: str  # a page of the user summaries, pinned before the erasure


def person_rows(lake: Lakehouse, table: str, ids: tuple[str, ...] | tuple[str]) -> int:
    """Rows of `table` whose text mentions one of `ids`, counted by the test itself."""
    return sum(
        1
        for row in lake.read(table).to_pylist()
        if any(i in orjson.dumps(row, default=str).decode() for i in ids)
    )


@pytest.fixture(scope="module")
def erased(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Erased]:
    folder: Path = tmp_path_factory.mktemp("erasure")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    with running_gateway(settings) as gateway:
        lake = Lakehouse(folder / "lake")
        store = MetadataStore(f"sqlite:///{folder / 'runs.db'}")
        store.upgrade()
        runners = [
            ModelRunner(get_product(name).model_graph(), lake, store)
            for name in ("mobile-user-analytics", "web-user-analytics", "user-segmentation")
        ]
        for round_ in (first_round, second_round):
            mobile, website = round_()
            to_bronze(lake, MOBILE, mobile, "ios-app")
            to_bronze(lake, WEB, website, "website")
            for runner in runners:
                assert all(r.status != "failed" for r in runner.run()), "a model failed"
        lake.append(
            QUARANTINE,
            pa.Table.from_pylist([quarantined(ZOE), quarantined(MAX)], QUARANTINE_SCHEMA),
        )
        before = {
            str(t): (
                lake.version(t),
                person_rows(lake, str(t), ZOE_IDS),
                person_rows(lake, str(t), (MAX,)),
            )
            for t in lake.tables()
        }
        # A reader paging the summaries holds a cursor pinned to a version with her rows.
        summaries = f"{gateway.url}/mobile/tables/user_summary"
        pinned = httpx.get(summaries, params={"limit": 1}, headers=gateway.admin).json()
        assert pinned["next_cursor"] is not None
        eraser = gateway.headers_for("gus", ["compliance-auditing-owner"])
        response = httpx.post(
            f"{gateway.url}/compliance/erasure", json={"user_id": ZOE}, headers=eraser, timeout=120
        )
        assert response.status_code == 201, response.text
        yield Erased(
            gateway, lake, response.json(), before, runners, gateway.admin, pinned["next_cursor"]
        )
        store.dispose()


def test_the_api_serves_nothing_of_her_from_memory_nor_from_a_pinned_cursor(
    erased: Erased,
) -> None:
    summaries = f"{erased.gateway.url}/mobile/tables/user_summary"

    latest = httpx.get(summaries, params={"limit": 1000}, headers=erased.admin)
    paged = httpx.get(summaries, params={"cursor": erased.cursor}, headers=erased.admin)

    assert latest.status_code == 200
    assert not set(ZOE_IDS) & {row["user_id"] for row in latest.json()["rows"]}
    assert paged.status_code == 422, paged.text
    assert paged.json()["field"] == "query.cursor" and "start again" in paged.json()["detail"]


def test_the_erasure_is_done_with_nothing_left(erased: Erased) -> None:
    report = erased.report

    assert report["status"] == "done", orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()
    assert report["linked_ids"] == 3
    assert report["remaining_traces"] == 0
    assert report["requested_by"] == "gus"
    assert len(report["request_id"]) == 32


def test_it_removes_every_row_of_the_person_and_their_linked_ids(erased: Erased) -> None:
    removed = {t["table"]: t["rows_removed"] for t in erased.report["tables"]}

    # Counted by hand in the module's docstring.
    assert removed[MOBILE] == 5
    assert removed[WEB] == 4
    assert removed[QUARANTINE] == 1
    # Every other table: as many rows as held her ids before (counted by the test from the rows).
    holding = {t: rows for t, (_, rows, _) in erased.before.items() if rows}
    assert removed == holding
    assert sum(removed.values()) == erased.report["rows_removed"]
    assert any(t.startswith("mobile_user_analytics.silver.") for t in holding)
    assert any(t.startswith("web_user_analytics.gold.") for t in holding)


def test_the_report_holds_exact_versions(erased: Erased) -> None:
    for table in erased.report["tables"]:
        name = table["table"]
        assert table["version_before"] == erased.before[name][0]
        assert table["version_after"] == erased.lake.version(name)
        assert table["version_after"] > table["version_before"]
        assert (table["rows_left"], table["files_naming_subject"]) == (0, 0)
    # Bronze had two appends (versions 0 and 1) before the erasure.
    mobile = next(t for t in erased.report["tables"] if t["table"] == MOBILE)
    assert mobile["version_before"] == 1


def test_no_parquet_file_in_the_lake_holds_a_trace_of_her(erased: Erased) -> None:
    root = Path(erased.lake.root)
    files = sorted(root.rglob("*.parquet"))
    naming = {
        str(path.relative_to(root)): [i for i in ZOE_IDS if i in text]
        for path in files
        if (text := orjson.dumps(pq.read_table(path).to_pylist(), default=str).decode())
    }

    assert len(files) > 20  # data files, change data, checkpoints of both products
    assert {path: ids for path, ids in naming.items() if ids} == {}
    assert any("_change_data" in path for path in naming)


def test_the_other_user_keeps_every_row(erased: Erased) -> None:
    for table, (_, _, max_rows) in erased.before.items():
        assert person_rows(erased.lake, table, (MAX,)) == max_rows, table
    assert erased.before[MOBILE][2] == 3 and erased.before[WEB][2] == 2


def test_no_log_file_names_her(erased: Erased) -> None:
    # Before the fix the commits of the appends that wrote her rows kept the files' min/max
    # statistics (7 log files named the person); now the person columns are left out of the
    # statistics and the erasure drops the old ones from commits and checkpoints.
    root = Path(erased.lake.root)

    def text(path: Path) -> bytes:
        if path.suffix == ".parquet":  # a checkpoint
            return orjson.dumps(pq.read_table(path).to_pylist(), default=str)
        return path.read_bytes()

    logs = [p for p in root.rglob("_delta_log/*") if p.suffix in (".json", ".parquet")]
    naming = [path for path in logs if any(i.encode() in text(path) for i in ZOE_IDS)]
    scrubbed = sum(t["log_files_scrubbed"] for t in erased.report["tables"])

    assert len(logs) > 50
    assert naming == []
    assert erased.report["log_files_naming_subject"] == 0
    assert scrubbed > 0


def test_her_tables_keep_person_columns_out_of_file_statistics(erased: Erased) -> None:
    summary = "mobile_user_analytics.gold.user_summary"
    configuration = erased.lake.table(summary).metadata().configuration
    stats = [
        orjson.loads(action["add"]["stats"])
        for line in (Path(erased.lake.uri(summary)) / "_delta_log").glob("*.json")
        for action in map(orjson.loads, line.read_bytes().splitlines())
        if "add" in action and action["add"].get("stats")
    ]

    assert "`user_id`" not in configuration["delta.dataSkippingStatsColumns"]
    assert stats, "the files written since still carry statistics of the other columns"
    assert all("user_id" not in s["minValues"] for s in stats)


def test_each_delete_predicate_parses_back_for_delta_rs_conflict_checks(
    erased: Erased, tmp_path: Path
) -> None:
    # delta-rs parses a delete's recorded predicate again when a model commits during the
    # delete; `encode(..., 'hex')` was recorded as `Utf8("hex")`, which it could not parse, so an
    # erasure racing the continuous runners failed.
    table = next(t["table"] for t in erased.report["tables"] if t["table"] == MOBILE)
    predicates = [
        commit["operationParameters"]["predicate"]
        for commit in erased.lake.history(table)
        if commit["operation"] == "DELETE"
    ]
    copy = tmp_path / "copy"
    shutil.copytree(erased.lake.uri(table), copy)

    assert predicates and not any(i in p for p in predicates for i in ZOE_IDS)
    for predicate in predicates:
        assert DeltaTable(str(copy)).delete(predicate)["num_deleted_rows"] == 0


def test_each_step_is_in_the_audit_log_without_the_id(erased: Erased) -> None:
    services = erased.gateway.services
    services.audit.flush()
    entries = [
        row
        for row in services.audit_log.search(action="compliance.erasure", limit=1000).rows
        if row.entry.detail["request_id"] == erased.report["request_id"]
    ]
    actions = [row.entry.action for row in reversed(entries)]
    tables = len(erased.report["tables"])

    assert actions == [
        "compliance.erasure.find",
        *["compliance.erasure.delete"] * tables,
        *["compliance.erasure.vacuum"] * tables,
        "compliance.erasure.done",
    ]
    assert all(row.entry.actor == "gus" for row in entries)
    deleted = {
        r.entry.table_name: r.entry.row_count for r in entries if r.entry.action.endswith("delete")
    }
    assert deleted == {t["table"]: t["rows_removed"] for t in erased.report["tables"]}
    assert not any(i in str(row) for row in entries for i in ZOE_IDS)


def test_the_status_endpoint_shows_the_report(erased: Erased) -> None:
    reader = erased.admin
    url = f"{erased.gateway.url}/compliance/erasure"

    status = httpx.get(f"{url}/{erased.report['request_id']}", headers=reader).json()
    done = httpx.get(url, headers=reader, params={"status": "done"}).json()["rows"]
    failed = httpx.get(url, headers=reader, params={"status": "failed"}).json()["rows"]

    assert status == erased.report
    assert erased.report["request_id"] in [row["request_id"] for row in done]
    assert failed == []


def test_models_keep_running_after_the_erasure_without_bringing_her_back(erased: Erased) -> None:
    for runner in erased.runners:
        results = runner.run()
        assert all(r.status != "failed" for r in results), [
            r for r in results if r.status == "failed"
        ]
    for table in erased.before:
        assert person_rows(erased.lake, table, ZOE_IDS) == 0, table


def test_the_change_feed_stays_readable_across_the_erasure(erased: Erased) -> None:
    for table in erased.report["tables"]:
        changes = erased.lake.changes_since(table["table"], table["version_before"])
        assert not any(i in str(changes.to_pylist()) for i in ZOE_IDS)


def test_erasing_someone_found_nowhere_is_done_with_nothing_removed(erased: Erased) -> None:
    response = httpx.post(
        f"{erased.gateway.url}/compliance/erasure",
        json={"user_id": "nobody-1"},
        headers=erased.admin,
    )

    assert response.status_code == 201
    report = response.json()
    assert (report["status"], report["tables"], report["rows_removed"]) == ("done", [], 0)
    assert report["remaining_traces"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.user_id"),
        ({"user_id": ""}, "body.user_id"),
        ({"user_id": "x" * 201}, "body.user_id"),
        ({"user_id": "zoe\n"}, "body.user_id"),
        ({"user_id": "zoe", "reason": "asked"}, "body.reason"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(
    erased: Erased, body: dict[str, Any], field: str
) -> None:
    response = httpx.post(
        f"{erased.gateway.url}/compliance/erasure", json=body, headers=erased.admin
    )

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_an_erasure_needs_the_write_permission(erased: Erased) -> None:
    url = f"{erased.gateway.url}/compliance/erasure"
    viewer = erased.gateway.headers_for("val", ["viewer"])

    assert httpx.post(url, json={"user_id": MAX}).status_code == 401
    assert httpx.post(url, json={"user_id": MAX}, headers=viewer).status_code == 403
    assert httpx.get(url).status_code == 401


def test_status_of_an_unknown_or_malformed_request(erased: Erased) -> None:
    url = f"{erased.gateway.url}/compliance/erasure"
    headers = erased.admin

    assert httpx.get(f"{url}/{'0' * 32}", headers=headers).status_code == 404
    malformed = httpx.get(f"{url}/not-a-request-id", headers=headers)
    assert malformed.status_code == 422
    assert malformed.json()["field"] == "path.request_id"
