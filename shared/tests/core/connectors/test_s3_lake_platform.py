"""The platform on an `s3://` lake served by a real S3-compatible server (S3Proxy, see
conftest.py): the web product's models run over a few events, the gateway answers from their
output, a daily export writes its files into the bucket, and an erasure removes a person from
every file the server keeps, with its report.

Website events in `web_user_analytics.bronze.clickstream`, minutes after START:

    zoe-4471 (browser anon-zoe-browser)  0 page /, 1 identify as zoe-4471, 2 page /cart
    max (browser anon-max-browser)       3 page /, never signed in

So the published pages (views): / 2, /cart 1; zoe's bronze rows: 3, max's: 1.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.core.governance import protect
from dataplatform.core.processing import ModelRunner
from dataplatform.core.product import declared_person_columns, get_product
from dataplatform.devtools.s3_server import S3Server
from dataplatform.platform.backups import Backups
from dataplatform.platform.collector import from_segment
from dataplatform.platform.exports import Exports, run_due_exports
from dataplatform.testing import RunningGateway, platform_settings, running_gateway

WEB = "web_user_analytics.bronze.clickstream"
EXPORTS = "s3://lake/exports"  # the exports root, in the lake's bucket
BACKUPS = "s3://lake/backups"
ZOE = "zoe-4471"
ZOE_IDS = (ZOE, "anon-zoe-browser")
MAX = "anon-max-browser"
# Days before now: inside every reporting range and retention the products apply.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def page(minute: int, anon: str, path: str, user: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "page",
        "name": path,
        "anonymousId": anon,
        "messageId": f"page-{anon}-{minute}",
        "timestamp": (START + timedelta(minutes=minute)).isoformat(),
        "context": {
            "page": {"url": f"https://shop.example.com{path}", "path": path},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        },
    }
    if user:
        item["userId"] = user
    return item


def website() -> list[dict[str, Any]]:
    identify = {
        "type": "identify",
        "userId": ZOE,
        "anonymousId": "anon-zoe-browser",
        "messageId": "identify-zoe",
        "timestamp": (START + timedelta(minutes=1)).isoformat(),
    }
    return [
        page(0, "anon-zoe-browser", "/"),
        identify,
        page(2, "anon-zoe-browser", "/cart", user=ZOE),
        page(3, MAX, "/"),
    ]


@dataclass
class Platform:
    gateway: RunningGateway
    lake: Lakehouse
    stored: Path  # where the server keeps the lake's objects on its disk
    exported: Path  # and the exports' objects
    pages_before: dict[str, int]
    bronze_before: dict[str, int]
    report: dict[str, Any]
    store: MetadataStore
    backup_id: str  # taken before the erasure


def views(gateway: RunningGateway) -> dict[str, int]:
    """Page views per path, summed over the days of the published pages table."""
    response = httpx.get(
        f"{gateway.url}/web/tables/pages", params={"limit": 1000}, headers=gateway.admin
    )
    assert response.status_code == 200, response.text
    totals: dict[str, int] = {}
    for row in response.json()["rows"]:
        totals[row["path"]] = totals.get(row["path"], 0) + row["views"]
    return totals


def rows_of(lake: Lakehouse, table: str, ids: tuple[str, ...]) -> int:
    return sum(
        1
        for row in lake.read(table).to_pylist()
        if any(i in orjson.dumps(row, default=str).decode() for i in ids)
    )


@pytest.fixture(scope="module")
def platform(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    folder = tmp_path_factory.mktemp("platform")
    root = "s3://lake/platform"  # the bucket the `s3_server` fixture made
    settings = platform_settings(
        f"sqlite:///{folder / 'platform.db'}",
        root,
        storage_options=s3_server.storage_options,
        query={"exports_root": EXPORTS},
    )
    with running_gateway(settings) as gateway:
        lake = Lakehouse(root, s3_server.storage_options)
        rows = [
            from_segment(i, received_at=datetime.fromisoformat(i["timestamp"]), source_id="web")
            for i in website()
        ]
        lake.append(WEB, pa.Table.from_pylist(rows, ENVELOPE_SCHEMA))
        store = MetadataStore(settings.database_url)
        runner = ModelRunner(get_product("web-user-analytics").model_graph(), lake, store)
        failed = [r for r in runner.run() if r.status == "failed"]
        assert failed == [], failed
        pages_before = views(gateway)
        bronze_before = {"zoe": rows_of(lake, WEB, ZOE_IDS), "max": rows_of(lake, WEB, (MAX,))}
        backup = Backups(BACKUPS, s3_server.storage_options).create(lake, store)
        eraser = gateway.headers_for("gus", ["compliance-auditing-owner"])
        response = httpx.post(
            f"{gateway.url}/compliance/erasure", json={"user_id": ZOE}, headers=eraser, timeout=120
        )
        assert response.status_code == 201, response.text
        yield Platform(
            gateway,
            lake,
            s3_server.stored(root),
            s3_server.stored(EXPORTS),
            pages_before,
            bronze_before,
            response.json(),
            store,
            backup.backup_id,
        )
        store.dispose()


def test_the_web_models_publish_pages_the_gateway_serves(platform: Platform) -> None:
    assert platform.pages_before == {"/": 2, "/cart": 1}
    assert platform.bronze_before == {"zoe": 3, "max": 1}
    assert views(platform.gateway) == {"/": 2, "/cart": 1}  # aggregates name nobody


def test_the_erasure_is_done_and_removed_her_bronze_rows(platform: Platform) -> None:
    report = platform.report
    removed = {table["table"]: table["rows_removed"] for table in report["tables"]}

    assert report["status"] == "done", orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()
    assert report["remaining_traces"] == 0
    assert removed[WEB] == 3
    assert rows_of(platform.lake, WEB, ZOE_IDS) == 0
    assert rows_of(platform.lake, WEB, (MAX,)) == 1


def test_no_object_on_the_server_names_her(platform: Platform) -> None:
    """Read from the server's disk, not through the lake: data, change data, commits and
    checkpoints of every table."""
    files = [path for path in platform.stored.rglob("*") if path.is_file()]

    def text(path: Path) -> bytes:
        if path.suffix == ".parquet":
            return orjson.dumps(pq.read_table(path).to_pylist(), default=str)
        return path.read_bytes()

    naming = [
        str(p.relative_to(platform.stored))
        for p in files
        if any(i.encode() in text(p) for i in ZOE_IDS)
    ]

    assert len(files) > 20
    assert any("_change_data" in str(path) for path in files)
    assert naming == []


def test_a_daily_export_writes_each_day_once_into_the_bucket(platform: Platform) -> None:
    gateway = platform.gateway
    body = {
        "name": "pages",
        "source": {"table": "web_user_analytics.gold.pages", "time_column": "day"},
        "folder": "daily",
        "period": "day",
        "starts_at": START.isoformat(),
    }
    analyst = gateway.headers_for("ana", ["analyst"])
    created = httpx.post(f"{gateway.url}/exports", json=body, headers=analyst)
    assert created.status_code == 201, created.text
    services = gateway.services
    day = START.date()

    def run() -> dict[str, int]:
        return run_due_exports(
            Exports(services.store),
            services.lake,
            services.sandbox,
            services.catalog.pii_columns,
            services.audit_log,
            now=datetime.combine(day + timedelta(days=3), time(1), UTC),  # 3 days over
        )

    first, again = run(), run()

    # START's day and the two after it, each once; the views (minutes after START) in them.
    files = sorted((platform.exported / "daily" / "pages").iterdir())
    assert [f.name for f in files] == [
        f"{day + timedelta(days=n):%Y-%m-%d}T000000Z.parquet" for n in range(3)
    ]
    assert (first["pages"], again["pages"]) == (3, 0)
    views: dict[str, int] = {}
    for row in (row for f in files for row in pq.read_table(f).to_pylist()):
        views[row["path"]] = views.get(row["path"], 0) + row["views"]
    assert views == {"/": 2, "/cart": 1}
    runs = httpx.get(f"{gateway.url}/exports/pages/runs", headers=analyst).json()["runs"]
    assert {run["location"] for run in runs} == {f"{EXPORTS}/daily/pages/{f.name}" for f in files}


def test_a_backup_in_the_bucket_restores_without_the_person_erased_since(
    platform: Platform, s3_server: S3Server, tmp_path: Path
) -> None:
    backups = Backups(BACKUPS, s3_server.storage_options)
    assert backups.verify(platform.backup_id) == []
    backups.record_erasures(platform.store)  # as the platform's jobs do each round
    store = MetadataStore(f"sqlite:///{tmp_path / 'restored.db'}")
    store.upgrade()
    lake = Lakehouse("s3://lake/restored", s3_server.storage_options)
    people = declared_person_columns()
    protect(lake, store, people)

    restored = backups.restore(platform.backup_id, lake, store, people)

    assert (
        restored["tables"] == len(platform.lake.tables()) - 1
    )  # the erasure wrote its report since
    assert restored["rows_erased_again"] >= platform.bronze_before["zoe"]
    assert rows_of(lake, WEB, ZOE_IDS) == 0
    assert rows_of(lake, WEB, (MAX,)) == 1
