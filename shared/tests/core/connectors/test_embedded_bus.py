"""The embedded bus: group commits into bronze, with the table's files kept bounded."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.compute as pc

from dataplatform.core.connectors.bus import EmbeddedBus
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import ENVELOPE_SCHEMA

BRONZE = "mobile_user_analytics.bronze.app_events"
RECEIVED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def envelope(event_id: str) -> dict[str, object]:
    return {
        "event_id": event_id,
        "type": "track",
        "event": "screen_view",
        "timestamp": RECEIVED,
        "received_at": RECEIVED,
        "source_id": "ios",
        "wire_format": "segment",
        "raw": "{}",
    }


def publish_one_commit_each(bus: EmbeddedBus, commits: int) -> None:
    async def run() -> None:
        for number in range(commits):  # awaited one by one, so each publish is its own commit
            await bus.publish(BRONZE, ENVELOPE_SCHEMA, [envelope(f"e-{number}")])
        await bus.close()

    asyncio.run(run())


def test_many_small_commits_leave_a_bounded_number_of_files(tmp_path: Path) -> None:
    """A writer's snapshot holds one entry per live file; without compaction the collector's
    memory and each commit's cost grew with every group commit (issue 13)."""
    lake = Lakehouse(tmp_path)
    publish_one_commit_each(EmbeddedBus(lake, compact_every_commits=10), commits=60)

    assert lake.version(BRONZE) > 60  # the 60 appends and the compactions between them
    assert len(lake.table(BRONZE).file_uris()) <= 10
    ids = lake.read(BRONZE, columns=["event_id"]).column("event_id")
    assert sorted(ids.to_pylist()) == sorted(f"e-{n}" for n in range(60))


def test_compaction_adds_nothing_to_the_change_feed(tmp_path: Path) -> None:
    lake = Lakehouse(tmp_path)
    publish_one_commit_each(EmbeddedBus(lake, compact_every_commits=5), commits=20)

    changes = lake.changes_since(BRONZE, -1)
    assert pc.unique(changes.column("_change_type")).to_pylist() == ["insert"]
    assert sorted(changes.column("event_id").to_pylist()) == sorted(f"e-{n}" for n in range(20))
