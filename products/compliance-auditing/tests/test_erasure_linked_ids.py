"""Linked ids found through user-segmentation's published identity graph, on a lake where the
three products' real models ran and the bronze events that linked the ids are gone since
(bronze retention), while the graph still holds the links.

    zoe  identified on her install anon-zoe-phone (app, 2026-11-01), opened the app as zoe
         without an install id (2026-11-20)
    bob  identified on the family tablet (website, 2026-11-01); so did bo, his partner, who also
         identified on bo-phone (app): the graph makes bob, bo, the tablet and bo-phone one
         "person" and cannot tell a shared tablet from one user with two accounts
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from compliance_auditing.erasure import find_subject
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.core.processing import ModelRunner
from dataplatform.core.product import get_product
from dataplatform.platform.collector import from_segment

MOBILE = "mobile_user_analytics.bronze.app_events"
WEB = "web_user_analytics.bronze.clickstream"
GRAPH = "user_segmentation.gold.identity_graph"
LINKED_ON = datetime(2026, 11, 1, 9, tzinfo=UTC)
LATER = datetime(2026, 11, 20, 9, tzinfo=UTC)


def segment_item(
    kind: str, at: datetime, user: str, anon: str | None, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": kind,
        "messageId": f"{kind}-{user}-{anon}-{at:%d}",
        "timestamp": at.isoformat(),
        "userId": user,
        **fields,
    }
    if anon:
        body["anonymousId"] = anon
    return body


def app(kind: str, at: datetime, user: str, anon: str | None, **fields: Any) -> dict[str, Any]:
    context = {"app": {"version": "3.2.0"}, "os": {"name": "iOS"}, "device": {"id": "d"}}
    return segment_item(kind, at, user, anon, context=context, **fields)


def web(kind: str, at: datetime, user: str, anon: str | None) -> dict[str, Any]:
    context = {
        "page": {"url": "https://shop.example.com/", "path": "/"},
        "userAgent": "Mozilla/5.0",
    }
    return segment_item(kind, at, user, anon, context=context)


def to_bronze(lake: Lakehouse, table: str, items: list[dict[str, Any]], source: str) -> None:
    rows = [
        from_segment(i, received_at=datetime.fromisoformat(i["timestamp"]), source_id=source)
        for i in items
    ]
    lake.append(table, pa.Table.from_pylist(rows, ENVELOPE_SCHEMA))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    folder: Path = tmp_path_factory.mktemp("linked")
    lake = Lakehouse(folder / "lake")
    store = MetadataStore(f"sqlite:///{folder / 'runs.db'}")
    store.upgrade()
    to_bronze(
        lake,
        MOBILE,
        [
            app("identify", LINKED_ON, "zoe", "anon-zoe-phone"),
            app("identify", LINKED_ON, "bo", "bo-phone"),
            app("track", LATER, "zoe", None, event="app_open"),
        ],
        "ios-app",
    )
    to_bronze(
        lake,
        WEB,
        [web("identify", LINKED_ON, "bob", "tablet"), web("identify", LINKED_ON, "bo", "tablet")],
        "website",
    )
    for name in ("mobile-user-analytics", "web-user-analytics", "user-segmentation"):
        results = ModelRunner(get_product(name).model_graph(), lake, store).run()
        assert all(r.status != "failed" for r in results), results
    # Bronze retention takes the linking events; the graph keeps the links for 395 days.
    for table in (MOBILE, WEB):
        lake.delete(table, f"timestamp < '{LATER.isoformat()}'")
    store.dispose()
    return lake


def test_her_install_is_found_only_through_the_published_graph(lake: Lakehouse) -> None:
    left = lake.read(MOBILE).to_pylist() + lake.read(WEB).to_pylist()
    assert [(row["user_id"], row["anonymous_id"]) for row in left] == [("zoe", None)]

    assert find_subject(lake, "zoe").ids == ("zoe", "anon-zoe-phone")


def test_a_component_shared_with_another_user_is_not_followed(lake: Lakehouse) -> None:
    graph = lake.read(GRAPH).to_pylist()
    assert {row["identifier"] for row in graph if row["person_id"] == "bo"} == {
        "bo",
        "bob",
        "tablet",
        "bo-phone",
    }

    assert find_subject(lake, "bob").ids == ("bob",)
    assert find_subject(lake, "bo").ids == ("bo",)
