"""The /segments API through a real gateway, over the small world of conftest.py (frequencies:
ana 5, eve 3, b-cy 1, dee 0), the models run by hand between calls."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2 as httpx
import pytest

from dataplatform.testing import RunningGateway, platform_settings, running_gateway
from user_segmentation.product import product

NAMESPACE = product.context().namespace
AT_LEAST_3 = {"feature": "frequency", "op": ">=", "value": 3}


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, kit: SimpleNamespace
) -> Iterator[tuple[RunningGateway, Any]]:
    folder: Path = tmp_path_factory.mktemp("gateway")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    with running_gateway(settings) as gateway:
        pipeline = kit.make_pipeline(folder, folder / "lake")
        kit.publish_world(pipeline)
        pipeline.run()
        yield gateway, pipeline


@pytest.fixture(scope="module")
def gateway(world: tuple[RunningGateway, Any]) -> RunningGateway:
    return world[0]


@pytest.fixture(scope="module")
def pipeline(world: tuple[RunningGateway, Any]) -> Any:
    return world[1]


@pytest.fixture(scope="module")
def admin(gateway: RunningGateway) -> dict[str, str]:
    return gateway.admin


def call(
    gateway: RunningGateway, method: str, path: str, headers: dict[str, str], **kw: Any
) -> httpx.Response:
    return httpx.request(method, f"{gateway.url}/segments{path}", headers=headers, timeout=30, **kw)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def eventually(read: Any, until: Any) -> Any:
    """`read()` once `until(answer)` holds: the API's snapshots catch up within a second or so."""
    deadline = time.monotonic() + 10
    while True:
        answer = read()
        if until(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def test_a_rule_segment_from_creation_to_deletion(
    gateway: RunningGateway, pipeline: Any, admin: dict[str, str]
) -> None:
    created = ok(
        call(
            gateway,
            "POST",
            "",
            admin,
            json={"name": "Frequent", "definition": {"all": [AT_LEAST_3]}},
        ),
        201,
    )
    segment = created["segment_id"]
    assert (created["kind"], created["version"], created["created_by"]) == ("rule", 1, "admin")
    assert created["definition"] == {"all": [AT_LEAST_3]}

    listed = eventually(
        lambda: ok(call(gateway, "GET", "", admin, params={"kind": "rule"}))["rows"],
        lambda rows: any(row["segment_id"] == segment for row in rows),
    )
    assert [row["name"] for row in listed if row["segment_id"] == segment] == ["Frequent"]

    pipeline.run()
    got = eventually(
        lambda: ok(call(gateway, "GET", f"/{segment}", admin)), lambda body: body["size"] == 2
    )
    assert got["size"] == 2  # ana and eve

    first = ok(call(gateway, "GET", f"/{segment}/users", admin, params={"limit": 1}))
    second = ok(
        call(
            gateway,
            "GET",
            f"/{segment}/users",
            admin,
            params={"limit": 1, "cursor": first["next_cursor"]},
        )
    )
    # Paged one at a time, in order of entry: both entered in one run, so by person_id.
    assert [r["person_id"] for r in first["rows"] + second["rows"]] == ["ana", "eve"]
    assert second["next_cursor"] is None

    profile = ok(call(gateway, "GET", f"/{segment}/profile", admin))
    assert profile["size"] == 2
    assert profile["features"]["frequency"] == {"min": 3.0, "mean": 4.0, "median": 4.0, "max": 5.0}
    assert profile["features"]["recency_days"]["max"] == 19.0  # eve
    assert profile["last_platform"] == {"mobile": 2}
    today = datetime.now(UTC).date().isoformat()
    assert profile["trend"] == [{"day": today, "entered": 2, "exited": 0, "size": 2}]

    person = ok(call(gateway, "GET", "/users/i-ana", admin))  # ana's phone install
    assert person["features"]["person_id"] == "ana"
    assert person["features"]["frequency"] == 5
    assert [s["segment_id"] for s in person["segments"]] == [segment]

    changed = ok(
        call(
            gateway,
            "PUT",
            f"/{segment}",
            admin,
            json={
                "name": "Very frequent",
                "definition": {"feature": "frequency", "op": ">", "value": 3},
            },
        )
    )
    assert (changed["version"], changed["name"]) == (2, "Very frequent")
    pipeline.run()
    users = eventually(
        lambda: ok(call(gateway, "GET", f"/{segment}/users", admin))["rows"],
        lambda rows: len(rows) == 1,
    )
    assert [(u["person_id"], u["definition_version"]) for u in users] == [("ana", 1)]
    trend = eventually(
        lambda: ok(call(gateway, "GET", f"/{segment}/profile", admin))["trend"],
        lambda days: days[0]["exited"] == 1,
    )
    assert trend == [{"day": today, "entered": 2, "exited": 1, "size": 1}]  # eve left

    assert call(gateway, "DELETE", f"/{segment}", admin).status_code == 204
    gone = problem(call(gateway, "GET", f"/{segment}", admin), 404)
    assert "deleted at" in gone["detail"]

    gateway.services.audit.flush()
    actions = [
        (row.entry.action, row.entry.detail["version"])
        for row in gateway.services.audit_log.search(action="segments").rows
        if row.entry.detail.get("segment_id") == segment
    ]
    assert sorted(actions) == [
        ("segments.create", 1),
        ("segments.delete", 2),
        ("segments.update", 2),
    ]


def test_ml_segments_are_trained_on_demand_and_listed(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    trained = ok(call(gateway, "POST", "/models/train", admin), 201)

    # Four people, each different: k is 2 or 3 (at most people - 1), whichever separates better.
    assert trained["people"] == 4 and trained["k"] in (2, 3)
    assert trained["trigger"] == "api:admin"
    models = eventually(
        lambda: ok(call(gateway, "GET", "/models", admin))["rows"], lambda rows: len(rows) >= 1
    )
    assert models[0]["version"] == trained["version"]
    ml = eventually(
        lambda: ok(call(gateway, "GET", "", admin, params={"kind": "ml"}))["rows"],
        lambda rows: len(rows) == trained["k"],
    )
    assert sum(row["size"] for row in ml) == 4
    first = ml[0]["segment_id"]
    segment = ok(call(gateway, "GET", f"/{first}", admin))
    assert segment["centroid"] == trained["centroids"][first]
    members = ok(call(gateway, "GET", f"/{first}/users", admin))["rows"]
    assert len(members) == trained["sizes"][first]
    changed = problem(
        call(gateway, "PUT", f"/{first}", admin, json={"name": "x", "definition": AT_LEAST_3}), 409
    )
    assert "training makes them" in changed["detail"]


def test_pii_is_masked_and_writes_need_the_write_permission(gateway: RunningGateway) -> None:
    viewer = gateway.headers_for("vera", ["viewer"])

    person = ok(call(gateway, "GET", "/users/b-ana", viewer))
    refused = problem(
        call(gateway, "POST", "", viewer, json={"name": "x", "definition": AT_LEAST_3}), 403
    )

    assert person["features"]["person_id"] == "***"
    assert person["features"]["frequency"] == 5
    assert "product:user-segmentation:write" in refused["detail"]


def test_no_credential_is_a_401(gateway: RunningGateway) -> None:
    for method, path in [
        ("GET", ""),
        ("GET", "/models"),
        ("POST", "/models/train"),
        ("GET", "/users/ana"),
    ]:
        assert call(gateway, method, path, {}).status_code == 401, path


@pytest.mark.parametrize(
    ("method", "path", "kw", "field"),
    [
        ("GET", "", {"params": {"limit": 0}}, "query.limit"),
        ("GET", "", {"params": {"kind": "cluster"}}, "query.kind"),
        ("GET", "", {"params": {"cursor": "not-a-cursor"}}, "query.cursor"),
        ("GET", "/segment-1", {}, "path.segment_id"),
        ("GET", "/rule-0123456789ab/profile", {"params": {"days": 0}}, "query.days"),
        ("POST", "", {"json": {"definition": AT_LEAST_3}}, "body.name"),
        ("POST", "", {"json": {"name": "x", "definition": [AT_LEAST_3]}}, "body.definition"),
        (
            "POST",
            "",
            {
                "json": {
                    "name": "x",
                    "definition": {
                        "all": [AT_LEAST_3, {"feature": "frequncy", "op": ">", "value": 1}]
                    },
                }
            },
            "body.definition.all[1].feature",
        ),
        (
            "POST",
            "",
            {
                "json": {
                    "name": "x",
                    "definition": {
                        "feature": "last_platform",
                        "op": "between",
                        "value": ["a", "b"],
                    },
                }
            },
            "body.definition.op",
        ),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    gateway: RunningGateway,
    admin: dict[str, str],
    method: str,
    path: str,
    kw: dict[str, Any],
    field: str,
) -> None:
    refused = problem(call(gateway, method, path, admin, **kw), 422)

    assert refused["field"] == field


def test_unknown_segments_and_people_are_404s(
    gateway: RunningGateway, admin: dict[str, str]
) -> None:
    for path in ["/rule-0123456789ab", "/rule-0123456789ab/users", "/ml-99", "/users/nobody"]:
        assert problem(call(gateway, "GET", path, admin), 404)["detail"], path


def test_listing_segments_on_a_fresh_lake_writes_nothing(tmp_path: Path) -> None:
    """A read creates no table: the list of a lake nothing was written to is empty, and the
    lake holds no table of the product afterwards (it did hold three, made by the GET)."""
    settings = platform_settings(f"sqlite:///{tmp_path / 'metadata.db'}", tmp_path / "lake")
    with running_gateway(settings) as fresh:

        def product_tables() -> list[str]:
            return [str(t) for t in fresh.services.lake.tables() if t.product == NAMESPACE]

        before = product_tables()
        rules = ok(call(fresh, "GET", "", fresh.admin, params={"kind": "rule"}))
        every = ok(call(fresh, "GET", "", fresh.admin))

        assert before == []
        assert rules == {"query": {"kind": "rule"}, "rows": [], "next_cursor": None}
        assert every["rows"] == []
        assert product_tables() == []
