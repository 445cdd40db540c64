"""Synthetic traffic: deterministic, realistic in shape, and sent through the collector."""

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.generator import (
    TrafficGenerator,
    WriteKeys,
    batches,
    happening_now,
    write_to_bronze,
)
from dataplatform.testing import MOBILE, WEB

START = datetime(2026, 11, 1, tzinfo=UTC)
KEYS = WriteKeys("ios", "android", "web")


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
    cli = str(Path(sys.executable).with_name("dataplatform"))

    result = subprocess.run(
        [cli, "generate", "--users", "40", "--days", "2", "--start", "2026-11-01"],
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
