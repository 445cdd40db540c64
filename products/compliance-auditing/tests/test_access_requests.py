"""Right of access through a real gateway: zoe and max use the app and the website, the mobile
and web models run over their events, then zoe asks for her data.

    app (install anon-zoe-phone): a screen before sign-in, identify as zoe-4471, app_open
    website (browser anon-zoe-browser): a page view before sign-in, identify, a page view
    zoe-old-account: an app_open, aliased to zoe-4471 on the website
    max-2208 (anon-max-phone, anon-max-browser): the same minus the alias

Linked to zoe-4471: anon-zoe-phone, anon-zoe-browser (events carrying both ids) and
zoe-old-account (her alias). The test finds her rows itself, by searching every value of every
row for her ids, and the archive must hold those rows and no other.
"""

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pyarrow as pa
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.core.processing import ModelRunner
from dataplatform.core.product import get_product
from dataplatform.platform.collector import from_segment
from dataplatform.testing import RunningGateway, platform_settings, running_gateway

ZOE = "zoe-4471"
ZOE_IDS = (ZOE, "anon-zoe-phone", "anon-zoe-browser", "zoe-old-account")
MAX_IDS = ("max-2208", "anon-max-phone", "anon-max-browser")
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
# The audit log names staff, and this product keeps only hashes: neither is the person's data.
LEFT_ALONE = ("platform.", "compliance_auditing.")


def item(kind: str, minute: int, user: str | None, anon: str | None, **fields: Any) -> Any:
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


def app(kind: str, minute: int, user: str | None, anon: str | None, **fields: Any) -> Any:
    context = {"app": {"version": "3.2.0"}, "os": {"name": "iOS"}}
    return item(kind, minute, user, anon, context=context, **fields)


def web(kind: str, minute: int, user: str | None, anon: str | None, **fields: Any) -> Any:
    context = {"page": {"url": "https://shop.example.com/shop", "path": "/shop"}}
    return item(kind, minute, user, anon, context={**context, "userAgent": "Mozilla/5.0"}, **fields)


MOBILE = [
    app("screen", 0, None, "anon-zoe-phone", name="Home"),
    app("identify", 1, ZOE, "anon-zoe-phone", traits={"plan": "gold"}),
    app("track", 2, ZOE, "anon-zoe-phone", event="app_open"),
    app("track", 3, "zoe-old-account", None, event="app_open"),
    app("identify", 4, "max-2208", "anon-max-phone"),
    app("track", 5, "max-2208", "anon-max-phone", event="app_open"),
]
WEBSITE = [
    web("page", 0, None, "anon-zoe-browser", name="/shop"),
    web("identify", 1, ZOE, "anon-zoe-browser"),
    web("page", 2, ZOE, "anon-zoe-browser", name="/shop"),
    web("alias", 3, ZOE, "anon-zoe-browser", previousId="zoe-old-account"),
    web("page", 4, "max-2208", "anon-max-browser", name="/shop"),
]


def to_bronze(lake: Lakehouse, table: str, items: list[Any], source: str) -> None:
    rows = [
        from_segment(i, received_at=datetime.fromisoformat(i["timestamp"]), source_id=source)
        for i in items
    ]
    lake.append(table, pa.Table.from_pylist(rows, ENVELOPE_SCHEMA))


def mentioning(lake: Lakehouse, table: str, ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows of `table` with a value (any column, nested too) equal to one of `ids`."""
    wanted = {orjson.dumps(i).decode() for i in ids}

    def values(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for inner in value.values():
                yield from values(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from values(inner)
        elif isinstance(value, str) and value.startswith(("{", "[")):
            try:
                yield from values(orjson.loads(value))
            except orjson.JSONDecodeError:
                yield orjson.dumps(value).decode()
        else:
            yield orjson.dumps(value, default=str).decode()

    return [row for row in lake.read(table).to_pylist() if wanted & set(values(row))]


@dataclass
class Answered:
    gateway: RunningGateway
    lake: Lakehouse
    response: httpx.Response
    archive: zipfile.ZipFile


@pytest.fixture(scope="module")
def answered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Answered]:
    folder: Path = tmp_path_factory.mktemp("access")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    with running_gateway(settings) as gateway:
        lake = Lakehouse(folder / "lake")
        store = MetadataStore(f"sqlite:///{folder / 'runs.db'}")
        store.upgrade()
        to_bronze(lake, "mobile_user_analytics.bronze.app_events", MOBILE, "ios-app")
        to_bronze(lake, "web_user_analytics.bronze.clickstream", WEBSITE, "website")
        for name in ("mobile-user-analytics", "web-user-analytics"):
            runner = ModelRunner(get_product(name).model_graph(), lake, store)
            assert all(r.status != "failed" for r in runner.run()), "a model failed"
        officer = gateway.headers_for("greta", ["compliance-auditing-owner"])
        response = httpx.post(
            f"{gateway.url}/compliance/access-requests",
            json={"user_id": ZOE},
            headers=officer,
            timeout=120,
        )
        assert response.status_code == 200, response.text
        yield Answered(gateway, lake, response, zipfile.ZipFile(io.BytesIO(response.content)))
        store.dispose()


def test_the_archive_holds_exactly_her_rows_of_every_table(answered: Answered) -> None:
    manifest = orjson.loads(answered.archive.read("manifest.json"))
    handed = {entry["table"]: entry for entry in manifest["tables"]}
    expected = {
        str(table): rows
        for table in answered.lake.tables()
        if not str(table).startswith(LEFT_ALONE)
        and (rows := mentioning(answered.lake, str(table), ZOE_IDS))
    }

    assert set(handed) == set(expected)
    assert "mobile_user_analytics.bronze.app_events" in handed
    assert "web_user_analytics.gold.session_events" in handed
    for table, rows in expected.items():
        given = orjson.loads(answered.archive.read(handed[table]["json"]))
        key = "event_id" if "event_id" in rows[0] else None
        assert len(given) == len(rows) == handed[table]["rows"], table
        if key:
            assert sorted(str(r[key]) for r in given) == sorted(str(r[key]) for r in rows), table
    assert sorted(manifest["ids"]) == sorted(ZOE_IDS)


def test_nothing_of_anyone_else_is_in_the_archive(answered: Answered) -> None:
    for name in answered.archive.namelist():
        text = answered.archive.read(name).decode()
        assert not any(other in text for other in MAX_IDS), name


def test_each_table_also_comes_as_csv_with_the_same_rows(answered: Answered) -> None:
    manifest = orjson.loads(answered.archive.read("manifest.json"))
    for entry in manifest["tables"]:
        rows = list(csv.DictReader(io.StringIO(answered.archive.read(entry["csv"]).decode())))
        assert len(rows) == entry["rows"] and list(rows[0]) == entry["columns"]


def test_the_request_is_recorded_without_her_id_and_audited(answered: Answered) -> None:
    gateway = answered.gateway
    request_id = answered.response.headers["x-access-request-id"]
    listed = httpx.get(f"{gateway.url}/compliance/access-requests", headers=gateway.admin).json()
    gateway.services.audit.flush()
    audited = gateway.services.audit_log.search(action="compliance.access_request").rows

    (record,) = listed["rows"]
    assert record["request_id"] == request_id
    assert ZOE not in orjson.dumps(record).decode()
    due = datetime.fromisoformat(record["due_by"]) - datetime.fromisoformat(record["requested_at"])
    assert due == timedelta(days=30)
    assert [(a.entry.actor, a.entry.detail["request_id"]) for a in audited] == [
        ("greta", request_id)
    ]


def test_asking_needs_the_products_write_permission(answered: Answered) -> None:
    gateway = answered.gateway
    viewer = gateway.headers_for("vik", ["viewer"])
    url = f"{gateway.url}/compliance/access-requests"

    assert httpx.post(url, json={"user_id": ZOE}, headers=viewer).status_code == 403
    assert httpx.post(url, json={"user_id": ZOE}).status_code == 401
    missing = httpx.post(url, json={}, headers=gateway.admin)
    assert missing.status_code == 422 and missing.json()["field"] == "body.user_id"
