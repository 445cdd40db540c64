"""What a tick of the features rewrites: the persons its new rows touch, everyone once when
as_of moves to a later day, and a person the graph merges into another removed; on the small
world of conftest.py (as_of 2026-11-20, the window 10-22 to 11-20)."""

from datetime import date
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest

from user_segmentation.product import product
from user_segmentation.serving import _definitions

FEATURES = product.context().table("gold.user_features")
ACTIVITY = product.context().table("silver.person_activity")
NEW_ROWS = ("insert", "update_postimage")


@pytest.fixture
def world(pipeline: Any, kit: SimpleNamespace) -> Any:
    kit.publish_world(pipeline)
    pipeline.run()
    return pipeline


def merge(pipeline: Any, kit: SimpleNamespace, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows a producer's merge model adds or rewrites, on their key."""
    keys = {
        kit.SESSION_EVENTS: ["event_id"],
        kit.USER_DAYS: ["user_id", "day", "platform"],
        kit.WEB_LINKS: ["user_id", "anonymous_id"],
    }[table]
    pipeline.lake.merge(table, pa.Table.from_pylist(rows, kit.SCHEMAS[table]), keys)


def changed_since(
    pipeline: Any, table: str, version: int, key: str = "person_id", until: int | None = None
) -> dict[str, set[str]]:
    """The `key`s a table's commits after `version` (up to `until`) wrote and deleted."""
    changes = pipeline.lake.changes_since(table, version, until=until).to_pylist()
    return {
        "written": {c[key] for c in changes if c["_change_type"] in NEW_ROWS},
        "deleted": {c[key] for c in changes if c["_change_type"] == "delete"},
    }


def test_a_tick_rewrites_only_the_persons_its_new_rows_touch(
    world: Any, kit: SimpleNamespace
) -> None:
    before = world.lake.version(FEATURES)
    cy = kit.web_event("w9", "2026-11-20 11:30", browser="b-cy", session="s3", page="/cart")

    merge(world, kit, kit.SESSION_EVENTS, [cy])
    world.run()

    assert changed_since(world, FEATURES, before) == {"written": {"b-cy"}, "deleted": set()}
    features = world.features()
    assert (features["b-cy"]["events"], features["b-cy"]["top_pages"]) == (
        3,
        ["/", "/cart", "/products/jacket"],
    )
    assert features["b-cy"]["as_of"] == date(2026, 11, 20)  # the same day: nobody else moves


def test_a_later_day_rewrites_everyone_once_then_only_the_touched(
    world: Any, kit: SimpleNamespace
) -> None:
    before = world.lake.version(FEATURES)
    # cy comes back on 11-24: the window becomes 10-26 to 11-24, which leaves eve's 10-25 out
    # though no row of hers arrived.
    cy_back = kit.web_event("w9", "2026-11-24 08:00", browser="b-cy", session="s4", page="/")

    merge(world, kit, kit.SESSION_EVENTS, [cy_back])
    world.run()
    moved_on = world.lake.version(FEATURES)
    cy_again = kit.web_event("w10", "2026-11-24 09:00", browser="b-cy", session="s5", page="/")
    merge(world, kit, kit.SESSION_EVENTS, [cy_again])
    world.run()

    everyone = {"ana", "b-cy", "dee", "eve"}
    assert changed_since(world, FEATURES, before)["written"] == everyone
    assert changed_since(world, FEATURES, moved_on) == {"written": {"b-cy"}, "deleted": set()}
    features = world.features()
    assert {f["as_of"] for f in features.values()} == {date(2026, 11, 24)}
    eve = features["eve"]
    assert (eve["recency_days"], eve["frequency"], eve["events"], eve["active_days"]) == (
        23,  # last seen 11-01
        2,  # 11-01's 2 sessions; 10-25's is out
        6,
        1,
    )
    assert features["dee"]["recency_days"] == 54
    assert (features["ana"]["recency_days"], features["ana"]["frequency"]) == (4, 5)
    assert (features["b-cy"]["frequency"], features["b-cy"]["recency_days"]) == (3, 0)


def test_a_sign_in_moves_a_browser_into_its_user_and_removes_the_browser(
    world: Any, kit: SimpleNamespace
) -> None:
    features_before = world.lake.version(FEATURES)
    activity_before = world.lake.version(ACTIVITY)
    cy_browsing = world.features()["b-cy"]

    # cy signs in on the web as user "cy": her browser's visit becomes cy's.
    merge(world, kit, kit.WEB_LINKS, [kit.link("cy", "b-cy", "2026-11-20 11:10")])
    world.run()

    features = world.features()
    assert "b-cy" not in features
    cy = features["cy"]
    assert cy["identified"] is True
    unchanged = ["first_seen", "last_seen", "frequency", "events", "top_pages", "funnel_step"]
    assert {name: cy[name] for name in unchanged} == {n: cy_browsing[n] for n in unchanged}
    assert changed_since(world, FEATURES, features_before) == {
        "written": {"cy"},
        "deleted": {"b-cy"},
    }
    # The browser's two events take their person from the link; nobody else's rows move.
    assert changed_since(world, ACTIVITY, activity_before, "row_key")["written"] == {
        "web:w7",
        "web:w8",
        "link:user:cy",
        "link:anonymous:b-cy",
    }


def test_a_tick_with_nothing_new_writes_nothing(world: Any) -> None:
    versions = {table: world.lake.version(table) for table in (ACTIVITY, FEATURES)}

    results = world.runner.run()

    assert {r.model for r in results if r.status != "up_to_date"} == set()
    assert {table: world.lake.version(table) for table in (ACTIVITY, FEATURES)} == versions


def test_membership_takes_in_only_the_changes_of_its_tick(world: Any, kit: SimpleNamespace) -> None:
    membership = product.context().table("gold.segment_membership")
    busy = _definitions.create(
        world.lake,
        product.context(),
        "test",
        "busy",
        None,
        {"feature": "events", "op": ">=", "value": 3},
    )["segment_id"]
    world.run()
    first = world.lake.version(membership)

    # cy's third event takes her in; then her sign-in makes her browser's person `cy`.
    merge(world, kit, kit.SESSION_EVENTS, [
        kit.web_event("w9", "2026-11-20 11:30", browser="b-cy", session="s3", page="/cart")
    ])  # fmt: skip
    world.run()
    entered = world.lake.version(membership)
    merge(world, kit, kit.WEB_LINKS, [kit.link("cy", "b-cy", "2026-11-20 11:10")])
    world.run()

    assert changed_since(world, membership, first, until=entered) == {
        "written": {"b-cy"},
        "deleted": set(),
    }
    assert changed_since(world, membership, entered) == {
        "written": {"cy"},
        "deleted": {"b-cy"},
    }
    members = {(r["segment_id"], r["person_id"]) for r in world.rows("gold.segment_membership")}
    assert members == {(busy, "ana"), (busy, "eve"), (busy, "cy")}
