"""An erasure that stays done: zoe is erased while the three products' model runners tick
continuously and user-segmentation's retraining job keeps retraining, in threads of this
process, all on one metadata store (which holds the suppression list) and one lake.

Before the erasure the runners have carried zoe into every model output and the retraining has
assigned her an ML segment. After it, more events arrive (hers too, as an SDK that still knows
her id would send them), the runners and the job run their next ticks, and then every file of
the lake, data, change data and log, is searched for her ids, as bytes and as decoded rows.

Events are on fixed days (nothing here depends on today's date); waiting is for conditions
(a segment assigned, ticks completed), never for a duration.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.core.governance import ErasedIdRecord, id_hash
from dataplatform.core.jobs import JobContext, JobScheduler
from dataplatform.core.processing import ModelRunner
from dataplatform.core.product import get_product
from dataplatform.platform.collector import from_segment
from dataplatform.testing import RunningGateway, platform_settings, running_gateway

MOBILE = "mobile_user_analytics.bronze.app_events"
WEB = "web_user_analytics.bronze.clickstream"
ML_ASSIGNMENTS = "user_segmentation.gold.ml_assignments"
ZOE = "zoe-4471"
ZOE_IDS = (ZOE, "anon-zoe-phone", "anon-zoe-browser")
# Six more people, with different amounts of activity so the clustering has groups to find.
OTHERS = {f"user-{n}": n for n in range(1, 7)}
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
TICK_SECONDS = 0.2
# A generous bound on waiting for a condition, so a slow machine fails clearly instead of hanging.
PATIENCE_SECONDS = 300.0


def segment_item(
    kind: str, minute: int, user: str, anon: str, context: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    return {
        "type": kind,
        "messageId": f"{kind}-{user}-{minute}",
        "timestamp": (START + timedelta(minutes=minute)).isoformat(),
        "userId": user,
        "anonymousId": anon,
        "context": context,
        **fields,
    }


def app_events(user: str, count: int, first_minute: int) -> list[dict[str, Any]]:
    context = {"app": {"version": "3.2.0"}, "os": {"name": "iOS"}}
    anon = f"anon-{user.removesuffix('-4471')}-phone"
    events = [segment_item("identify", first_minute, user, anon, context)]
    for n in range(count):
        minute = first_minute + 1 + n * 40  # sessions apart
        events.append(
            segment_item(
                "track",
                minute,
                user,
                anon,
                context,
                event="purchase",
                properties={"revenue": 3 * count, "currency": "EUR"},
            )
        )
    return events


def web_events(user: str, count: int, first_minute: int) -> list[dict[str, Any]]:
    context = {"page": {"url": "https://shop.example.com/cart", "path": "/cart"}}
    anon = f"anon-{user.removesuffix('-4471')}-browser"
    return [
        segment_item("page", first_minute + n * 45, user, anon, context, name="/cart")
        for n in range(count)
    ]


def to_bronze(lake: Lakehouse, table: str, items: list[dict[str, Any]], source: str) -> None:
    rows = [
        from_segment(i, received_at=datetime.fromisoformat(i["timestamp"]), source_id=source)
        for i in items
    ]
    lake.append(table, pa.Table.from_pylist(rows, ENVELOPE_SCHEMA))


def send(lake: Lakehouse, people: dict[str, int], first_minute: int) -> None:
    """App and web events of `people` (user -> how active), from `first_minute` after START."""
    mobile = [e for user, n in people.items() for e in app_events(user, n, first_minute)]
    website = [e for user, n in people.items() for e in web_events(user, n, first_minute)]
    to_bronze(lake, MOBILE, mobile, "ios-app")
    to_bronze(lake, WEB, website, "website")


@dataclass
class Ticks:
    """How many cycles each runner and the retraining job have completed."""

    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str) -> None:
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        answer = condition()
        if answer:
            return answer
        time.sleep(TICK_SECONDS)
    raise AssertionError(f"gave up waiting for {what}")


def retraining(context: JobContext, ticks: Ticks, stop: threading.Event) -> None:
    """The `train_segments` job through the real scheduler, on a short interval (a run that
    races the erasure's vacuum is reported by the scheduler and retried on the next tick)."""
    scheduler = JobScheduler(get_product("user-segmentation").jobs, context)
    while not stop.is_set():
        for outcome in scheduler.run_once():
            ticks.count(outcome.job)
        stop.wait(TICK_SECONDS)


@dataclass
class Lake:
    gateway: RunningGateway
    lake: Lakehouse
    store: MetadataStore
    report: dict[str, Any]
    assigned_before: set[str]
    ticks_at_erasure: dict[str, int]
    ticks_after: dict[str, int]


@pytest.fixture(scope="module")
def erased_while_running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    folder: Path = tmp_path_factory.mktemp("erasure-running")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    with running_gateway(settings) as gateway:
        store = MetadataStore(settings.database_url)  # the gateway's: one suppression list
        lake = Lakehouse(folder / "lake")
        runners = {
            name: ModelRunner(get_product(name).model_graph(), lake, store)
            for name in ("mobile-user-analytics", "web-user-analytics", "user-segmentation")
        }
        segmentation = get_product("user-segmentation")
        job_settings = segmentation.settings().model_copy(
            update={"cluster_features": ["frequency", "monetary"], "retrain_every_seconds": 1}
        )
        context = JobContext.extending(segmentation.context(job_settings), lake=lake)
        send(lake, {ZOE: 3, **OTHERS}, first_minute=0)
        ticks, stop = Ticks(), threading.Event()
        threads = [
            threading.Thread(
                target=runner.run_continuously,
                args=(TICK_SECONDS, stop),
                kwargs={"on_cycle": lambda _, name=name: ticks.count(name)},
                daemon=True,
            )
            for name, runner in runners.items()
        ]
        threads.append(
            threading.Thread(target=retraining, args=(context, ticks, stop), daemon=True)
        )
        for thread in threads:
            thread.start()
        try:
            assigned_before = wait_for(
                lambda: _assigned(lake) if ZOE in _assigned(lake) else None,
                "the retraining to assign zoe a segment",
            )
            eraser = gateway.headers_for("gus", ["compliance-auditing-owner"])
            response = httpx.post(
                f"{gateway.url}/compliance/erasure",
                json={"user_id": ZOE},
                headers=eraser,
                timeout=PATIENCE_SECONDS,
            )
            assert response.status_code == 201, response.text
            at_erasure = ticks.snapshot()
            # More traffic: the others keep using the shop, and zoe's phone still sends.
            send(lake, {ZOE: 2, "user-1": 4, "user-6": 1}, first_minute=24 * 60)
            wait_for(
                lambda: all(
                    ticks.snapshot().get(n, 0) >= at_erasure.get(n, 0) + 3 for n in at_erasure
                ),
                "three more ticks of every runner and of the retraining",
            )
        finally:
            stop.set()
            for thread in threads:
                thread.join(PATIENCE_SECONDS)
        yield Lake(
            gateway, lake, store, response.json(), assigned_before, at_erasure, ticks.snapshot()
        )
        store.dispose()


def _assigned(lake: Lakehouse) -> set[str]:
    if not lake.exists(ML_ASSIGNMENTS):
        return set()
    return set(lake.read(ML_ASSIGNMENTS, columns=["person_id"])["person_id"].to_pylist())


def test_no_file_of_the_lake_names_her_after_the_next_ticks(erased_while_running: Lake) -> None:
    root = Path(erased_while_running.lake.root)
    files = [path for path in root.rglob("*") if path.is_file()]

    def decoded(path: Path) -> bytes:
        return orjson.dumps(pq.read_table(path).to_pylist(), default=str)

    naming = {
        str(path.relative_to(root))
        for path in files
        for content in [path.read_bytes(), *([decoded(path)] if path.suffix == ".parquet" else [])]
        if any(i.encode() in content for i in ZOE_IDS)
    }

    assert erased_while_running.report["status"] == "done", erased_while_running.report
    assert len([p for p in files if "_delta_log" in p.parts]) > 50
    assert naming == set()


def test_the_retraining_and_the_runners_ran_after_the_erasure(erased_while_running: Lake) -> None:
    lake = erased_while_running.lake
    people_now = _assigned(lake)

    assert ZOE in erased_while_running.assigned_before
    assert ZOE not in people_now
    # The others are still assigned, user-1's new activity included.
    assert set(OTHERS) <= people_now
    versions = lake.read("user_segmentation.gold.ml_models", columns=["version"])
    assert versions.num_rows >= 2
    for name, before in erased_while_running.ticks_at_erasure.items():
        assert erased_while_running.ticks_after[name] >= before + 3, name


def test_her_new_events_were_kept_out_of_bronze(erased_while_running: Lake) -> None:
    rows = erased_while_running.lake.read(MOBILE, columns=["user_id"])["user_id"].to_pylist()

    # user-1's 4 new purchases and identify arrived; none of zoe's 3 new events did.
    assert rows.count("user-1") == 2 + 5
    assert ZOE not in rows


def test_the_suppression_list_keeps_only_hashes(erased_while_running: Lake) -> None:
    with erased_while_running.store.session() as session:
        records = list(session.scalars(select(ErasedIdRecord)))

    assert {r.id_hash for r in records} == {id_hash(i) for i in ZOE_IDS}
    assert {r.request_id for r in records} == {erased_while_running.report["request_id"]}
    assert not any(i in str(vars(r)) for r in records for i in ZOE_IDS)
