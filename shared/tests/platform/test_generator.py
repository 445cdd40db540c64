"""Synthetic traffic: deterministic, realistic in shape, and sent through the collector."""

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import InvalidRequestError
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.core.processing import ModelRunner
from dataplatform.core.product import get_product
from dataplatform.platform.collector import from_posthog, from_segment
from dataplatform.platform.generator import (
    TrafficGenerator,
    Volume,
    WriteKeys,
    batches,
    happening_now,
    write_columns,
    write_to_bronze,
)
from dataplatform.testing import MOBILE, WEB

START = datetime(2026, 11, 1, tzinfo=UTC)
KEYS = WriteKeys("ios", "android", "web")
BRONZE = {"mobile": MOBILE, "web": WEB}
CLI = str(Path(sys.executable).with_name("dataplatform"))


def all_events(generator: TrafficGenerator) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    mobile, web = [], []
    for traffic in generator.days_of_traffic():
        mobile += traffic.mobile
        web += traffic.web_segment + traffic.web_posthog
    return mobile, web


def test_the_same_seed_gives_the_same_requests() -> None:
    first = list(batches(TrafficGenerator(40, 3, seed=7, start=START).days_of_traffic(), KEYS))
    again = list(batches(TrafficGenerator(40, 3, seed=7, start=START).days_of_traffic(), KEYS))
    other = list(batches(TrafficGenerator(40, 3, seed=8, start=START).days_of_traffic(), KEYS))

    assert first == again
    assert first != other


def test_mobile_traffic_has_the_events_platforms_and_money_of_an_app() -> None:
    mobile, _ = all_events(TrafficGenerator(300, 4, start=START))

    names = Counter(e.get("event") or "screen_view" for e in mobile)
    assert {
        "app_open",
        "screen_view",
        "tap",
        "add_to_cart",
        "purchase",
        "crash",
        "app_background",
    } <= set(names)
    assert {e["context"]["os"]["name"] for e in mobile} == {"iOS", "Android"}
    purchase = next(e for e in mobile if e.get("event") == "purchase")
    assert purchase["properties"]["revenue"] > 0 and purchase["properties"]["currency"] in (
        "EUR",
        "USD",
    )
    assert all(e["context"]["sessionId"] == e["properties"]["session_id"] for e in mobile)
    assert len({e["context"]["app"]["version"] for e in mobile}) > 1


def test_web_traffic_has_campaigns_bots_a_leaky_funnel_and_identified_users() -> None:
    _, web = all_events(TrafficGenerator(300, 4, start=START))

    segment_pages = [e for e in web if e.get("type") == "page"]
    posthog_pages = [e for e in web if e.get("event") == "$pageview"]
    assert segment_pages and posthog_pages
    assert any("campaign" in e["context"] for e in segment_pages)
    agents = [e["context"]["userAgent"] for e in segment_pages] + [
        e["properties"]["$raw_user_agent"] for e in posthog_pages
    ]
    assert any("bot" in agent.lower() for agent in agents)
    paths = Counter(e["properties"]["path"] for e in segment_pages)
    funnel = [
        paths["/"],
        sum(n for p, n in paths.items() if p.startswith("/products/")),
        paths["/cart"],
        paths["/checkout"],
        paths["/checkout/complete"],
    ]
    assert funnel == sorted(funnel, reverse=True) and funnel[-1] > 0
    identify = next(e for e in web if e.get("type") == "identify")
    assert identify["userId"].startswith("user-") and identify["anonymousId"]


def test_a_few_events_come_twice_or_a_day_late() -> None:
    mobile, web = all_events(TrafficGenerator(300, 4, start=START))
    events = mobile + web

    ids = Counter(e.get("messageId") or e.get("uuid") for e in events)
    duplicated = sum(1 for n in ids.values() if n > 1)
    assert 0 < duplicated < 0.03 * len(ids)
    times = [datetime.fromisoformat(e["timestamp"]) for e in mobile]
    a_day_back = sum(1 for before, after in pairwise(times) if after < before - timedelta(hours=20))
    assert a_day_back > 0


def test_generate_fills_both_bronze_tables_through_the_collector(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(tmp_path / "lake"),
        "DATAPLATFORM_DATABASE_URL": f"sqlite:///{tmp_path / 'metadata.db'}",
        "COLUMNS": "200",
    }
    result = subprocess.run(
        [CLI, "generate", "--users", "40", "--days", "2", "--start", "2026-11-01"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    sent = int(re.search(r"(\d+) events from 40 users over 2 days", result.stdout).group(1))  # type: ignore[union-attr]
    lake = Lakehouse(tmp_path / "lake")
    mobile, web = lake.read(MOBILE), lake.read(WEB)
    assert mobile.num_rows > 0 and web.num_rows > 0
    assert mobile.num_rows + web.num_rows == sent
    assert set(web["wire_format"].to_pylist()) == {"segment", "posthog"}
    assert min(mobile["timestamp"].to_pylist()) >= datetime(2026, 11, 1, tzinfo=UTC)


def test_direct_mode_writes_the_same_events_to_bronze(lake: Lakehouse) -> None:
    generator = TrafficGenerator(30, 2, seed=3, start=START)
    expected = sum(count for _, _, count in batches(generator.days_of_traffic(), KEYS))
    destinations = {"mobile": MOBILE, "web": WEB}

    written = write_to_bronze(generator, lake, destinations)

    assert written == expected
    assert lake.read(MOBILE).num_rows + lake.read(WEB).num_rows == expected
    assert min(lake.read(WEB)["timestamp"].to_pylist()) >= START


def test_live_traffic_ends_each_person_day_now_and_keeps_its_rhythm() -> None:
    generator = TrafficGenerator(20, 2, seed=5, start=START)
    originals = [
        [datetime.fromisoformat(e["timestamp"]) for e in t.mobile + t.web_segment + t.web_posthog]
        for t in generator.days_of_traffic()
    ]

    before = datetime.now(UTC)
    live = [
        [datetime.fromisoformat(e["timestamp"]) for e in t.mobile + t.web_segment + t.web_posthog]
        for t in happening_now(generator)
    ]
    after = datetime.now(UTC)

    originals = [times for times in originals if times]
    assert len(live) == len(originals)
    for moved, original in zip(live, originals, strict=True):
        assert before <= max(moved) <= after
        gaps = [b - a for a, b in pairwise(moved)]
        assert gaps == [b - a for a, b in pairwise(original)]


# --- the columnar direct path ------------------------------------------------------------------


def test_direct_columns_are_the_rows_the_collector_makes_of_their_items(lake: Lakehouse) -> None:
    volume = Volume(users=200, days=3, start=START, seed=11)

    written = write_columns(volume, lake, BRONZE)

    rows = [*lake.read(MOBILE).to_pylist(), *lake.read(WEB).to_pylist()]
    assert written == len(rows) > 0
    for table in (MOBILE, WEB):
        stored = lake.schema(table)
        assert [(f.name, f.type) for f in stored] == [(f.name, f.type) for f in ENVELOPE_SCHEMA]
    for row in rows:
        normalise = from_posthog if row["wire_format"] == "posthog" else from_segment
        expected = normalise(
            orjson.loads(row["raw"]), received_at=row["received_at"], source_id=row["source_id"]
        )
        for column, value in row.items():
            if column in ("context", "properties", "raw") and value is not None:
                assert orjson.loads(value) == orjson.loads(expected[column]), column
            else:
                assert value == expected[column], column


def test_direct_columns_have_the_shapes_of_the_per_event_generator(lake: Lakehouse) -> None:
    write_columns(Volume(users=400, days=4, start=START, seed=5), lake, BRONZE)
    mobile, web = lake.read(MOBILE), lake.read(WEB)

    assert {"app_open", "tap", "add_to_cart", "purchase", "crash", "app_background"} <= set(
        mobile["event"].to_pylist()
    )
    assert {"iOS", "Android"} == {
        orjson.loads(c)["os"]["name"] for c in mobile["context"].to_pylist()
    }
    assert set(web["wire_format"].to_pylist()) == {"segment", "posthog"}
    contexts = [orjson.loads(c) for c in web["context"].drop_null().to_pylist()]
    assert any("campaign" in c for c in contexts)
    assert any("bot" in c.get("userAgent", "").lower() for c in contexts)
    pages = web.filter(pc.equal(web["type"], "page"))["context"].to_pylist()
    paths = Counter(orjson.loads(c)["page"]["path"] for c in pages)
    funnel = [paths["/"], paths["/cart"], paths["/checkout"], paths["/checkout/complete"]]
    assert funnel == sorted(funnel, reverse=True) and funnel[-1] > 0
    identified = [t for t in web["type"].to_pylist() if t == "identify"]
    assert identified
    ids = Counter([*mobile["event_id"].to_pylist(), *web["event_id"].to_pylist()])
    twice = sum(1 for n in ids.values() if n > 1)
    assert 0 < twice < 0.03 * len(ids)
    received = [*mobile["received_at"].to_pylist(), *web["received_at"].to_pylist()]
    happened = [*mobile["timestamp"].to_pylist(), *web["timestamp"].to_pylist()]
    late = sum(1 for r, t in zip(received, happened, strict=True) if r - t >= timedelta(days=1))
    assert 0 < late < 0.03 * len(received)


def test_the_same_seed_gives_the_same_direct_rows(tmp_path: Path) -> None:
    def rows(seed: int, folder: str) -> list[pa.Table]:
        lake = Lakehouse(tmp_path / folder)
        write_columns(Volume(users=50, days=2, start=START, seed=seed), lake, BRONZE)
        # A table's files may be read in any order: the rows, not their order, are the output.
        order = [("event_id", "ascending"), ("received_at", "ascending")]
        return [lake.read(MOBILE).sort_by(order), lake.read(WEB).sort_by(order)]

    first, again, other = rows(7, "first"), rows(7, "again"), rows(8, "other")

    assert [t.to_pylist() for t in first] == [t.to_pylist() for t in again]
    assert first[0]["event_id"].to_pylist() != other[0]["event_id"].to_pylist()


def test_direct_rows_do_not_depend_on_how_they_are_batched(tmp_path: Path) -> None:
    volume = Volume(users=150, days=3, start=START, seed=9)

    def rows(folder: str, batch_rows: int) -> list[list[dict]]:  # type: ignore[type-arg]
        lake = Lakehouse(tmp_path / folder)
        write_columns(volume, lake, BRONZE, batch_rows=batch_rows)
        order = [("event_id", "ascending"), ("received_at", "ascending")]
        return [lake.read(table).sort_by(order).to_pylist() for table in (MOBILE, WEB)]

    in_one, in_many = rows("one", 1_000_000), rows("many", 700)

    assert in_one == in_many
    assert len(in_one[0]) > 700 and len(in_one[1]) > 700  # several batches a table


def test_events_sets_the_volume_and_batches_set_the_commits(lake: Lakehouse) -> None:
    volume = Volume(users=300, days=5, start=START, seed=2, events=12_345)

    written = write_columns(volume, lake, BRONZE, batch_rows=2_000)

    ids = {*lake.read(MOBILE)["event_id"].to_pylist(), *lake.read(WEB)["event_id"].to_pylist()}
    assert len(ids) == 12_345  # distinct events; the rest are the SDKs' retries
    assert 12_345 < written < 12_345 * 1.03
    assert lake.version(MOBILE) >= 1 and lake.version(WEB) >= 1  # a commit per batch, from 0


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"users": 0, "days": 3}, "--users"),
        ({"users": 10, "days": -1}, "--days"),
        ({"users": 100, "days": 3, "events": 50}, "--events"),
        ({"users": 10, "days": 3, "events": 1_000_000}, "--users"),
    ],
)
def test_bad_volumes_are_refused_naming_the_option(options: dict[str, int], named: str) -> None:
    with pytest.raises(InvalidRequestError, match=named):
        Volume(start=START, **options)


def test_generate_direct_fills_both_bronze_tables_with_the_events_asked_for(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [CLI, "generate", "--direct", "--users", "200", "--days", "3", "--events", "3000",
         "--start", "2026-11-01"],
        env={**os.environ, "DATAPLATFORM_LAKE_ROOT": str(tmp_path / "lake"), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    written = int(re.search(r"(\d+) events from 200 users over 3 days", result.stdout).group(1))  # type: ignore[union-attr]
    lake = Lakehouse(tmp_path / "lake")
    mobile, web = lake.read(MOBILE), lake.read(WEB)
    assert mobile.num_rows + web.num_rows == written
    assert len({*mobile["event_id"].to_pylist(), *web["event_id"].to_pylist()}) == 3000
    assert "events/s" in result.stderr  # the progress bar's rate


def test_generate_direct_refuses_fewer_events_than_users(tmp_path: Path) -> None:
    result = subprocess.run(
        [CLI, "generate", "--direct", "--users", "100", "--events", "50"],
        env={**os.environ, "DATAPLATFORM_LAKE_ROOT": str(tmp_path / "lake"), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 2
    assert "--events" in result.stderr and "at least `--users` (100)" in result.stderr


def test_the_products_models_turn_direct_rows_into_sessions_users_pages_and_funnels(
    tmp_path: Path,
) -> None:
    lake = Lakehouse(tmp_path / "lake")
    write_columns(Volume(users=120, days=3, start=START, seed=4), lake, BRONZE)
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    store.upgrade()

    for name in ("mobile-user-analytics", "web-user-analytics"):
        results = ModelRunner(get_product(name).model_graph(), lake, store).run()
        assert not [r for r in results if r.status == "failed"]
    store.dispose()

    def table(name: str) -> pa.Table:
        return lake.read(name)

    assert table("mobile_user_analytics.silver.sessions").num_rows > 0
    daily = table("mobile_user_analytics.gold.active_users").to_pylist()
    assert len(daily) == 3 and all(day["dau"] > 0 for day in daily)
    assert table("web_user_analytics.gold.sessions").num_rows > 0
    views = Counter()
    for page in table("web_user_analytics.gold.pages").to_pylist():
        views[page["path"]] += page["views"]
    assert views["/"] > views["/cart"] > views["/checkout/complete"] > 0
    sessions = table("web_user_analytics.gold.sessions").to_pylist()
    assert sum(s["conversions"] for s in sessions) > 0 and sum(s["revenue"] for s in sessions) > 0


@pytest.mark.parametrize(("people", "days", "seed"), [(9, 1, 26), (1, 3, 27), (50, 3, 26)])
def test_a_day_without_a_web_visit_writes_the_app_events_it_has(
    lake: Lakehouse, people: int, days: int, seed: int
) -> None:
    # A handful of people: some days draw no web visit at all (these seeds do).
    volume = Volume(people, days, datetime(2026, 11, 1, tzinfo=UTC), seed=seed, events=people)

    written = write_columns(volume, lake, BRONZE)

    stored = sum(lake.read(table).num_rows for table in BRONZE.values() if lake.exists(table))
    assert written == stored >= people
