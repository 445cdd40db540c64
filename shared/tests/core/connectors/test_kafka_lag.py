"""The Kafka bus' lag in platform.gold.bus_lag, measured on a real broker (see conftest.py): the
events the ingestion workers' group has not committed yet, and how long the oldest has waited."""

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from confluent_kafka import Producer

from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.bus import encode_rows
from dataplatform.core.connectors.bus.kafka import KafkaIngestWorker, topic_for
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.product import discover_products
from dataplatform.platform.collector import free_port
from dataplatform.platform.telemetry import (
    BUS_LAG_TABLE,
    NOTHING_WAITS,
    StreamLag,
    kafka_stream_lags,
    publish_bus_lag,
)
from dataplatform.testing import MOBILE, WEB, app_events

if TYPE_CHECKING:
    from dataplatform.devtools.kafka_broker import KafkaBroker

# Generous: a loaded machine must never fail a test that would pass; a passing test never waits
# this long.
DEADLINE_SECONDS = 120


def produce(kafka: "KafkaBroker", partition: int, created: datetime, *event_ids: str) -> None:
    """One collector request of `event_ids` in `partition` of MOBILE's topic, stamped `created`."""
    events = app_events(*event_ids)
    produce_raw(kafka, partition, created, encode_rows(events.schema, events.to_pylist()))


def produce_raw(kafka: "KafkaBroker", partition: int, created: datetime, value: bytes) -> None:
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "acks": "all"})
    producer.produce(
        topic_for(MOBILE), value, partition=partition, timestamp=int(created.timestamp() * 1000)
    )
    assert producer.flush(30) == 0, "the broker did not take the message"


def latest_lag(lake: Lakehouse) -> dict[str, tuple[Any, ...]]:
    """The latest round of platform.gold.bus_lag, per stream: bus, events, seconds."""
    rows = lake.read(BUS_LAG_TABLE).to_pylist()
    latest = max(row["observed_at"] for row in rows)
    return {
        row["stream"]: (row["bus"], row["waiting_events"], row["oldest_waiting_seconds"])
        for row in rows
        if row["observed_at"] == latest
    }


def test_events_wait_on_kafka_until_the_bronze_writers_commit_them(
    kafka: "KafkaBroker", lake: Lakehouse
) -> None:
    """Four mobile events in three messages over two partitions, none read yet:
    partition 0 holds `early` (e1, e2; 120 s old), then `late` (e3; 60 s old); partition 1 holds
    `middle` (e4; 90 s old), then `foreign`, older still but not rows: it holds no event, and the
    worker quarantines it. Nothing is ever published on the web stream."""
    now = datetime.now(UTC).replace(microsecond=0)
    kafka.create_topic(topic_for(MOBILE), partitions=2)
    produce(kafka, 0, now - timedelta(seconds=120), "e1", "e2")
    produce(kafka, 0, now - timedelta(seconds=60), "e3")
    produce(kafka, 1, now - timedelta(seconds=90), "e4")
    produce_raw(kafka, 1, now - timedelta(seconds=150), b"not Arrow")

    def measure() -> StreamLag:
        lags = kafka_stream_lags(kafka.bootstrap_servers, [MOBILE, WEB], now)
        assert lags[WEB] == NOTHING_WAITS
        return lags[MOBILE]

    def measure_until(done: Callable[[StreamLag], bool]) -> StreamLag:
        """Measure until `done(lag)`: a worker commits its offsets to Kafka after it writes."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not done(lag := measure()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return lag

    # No worker has committed anything: every message waits, from each partition's start.
    settings = PlatformSettings(bus="kafka", kafka_bootstrap_servers=kafka.bootstrap_servers)
    assert publish_bus_lag(settings, lake, discover_products(), now=now) == 2
    assert latest_lag(lake) == {MOBILE: ("kafka", 4, 120.0), WEB: ("kafka", 0, 0.0)}

    # A worker of the group writes one message: the first of either partition.
    worker = KafkaIngestWorker(lake, kafka.bootstrap_servers, MOBILE)
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while worker.step(max_messages=1) == 0:
            assert time.monotonic() < deadline, "the worker read nothing"
        written = tuple(sorted(lake.read(MOBILE)["event_id"].to_pylist()))
        still_waiting = {
            ("e1", "e2"): StreamLag(2, 90.0),  # `late` and `middle` wait; `middle` is the older
            ("e4",): StreamLag(3, 120.0),  # `early` and `late` wait
        }[written]
        assert measure_until(lambda lag: lag.waiting_events != 4) == still_waiting

        # It writes the rest: nothing waits.
        while lake.read(MOBILE).num_rows < 4:
            worker.step()
            assert time.monotonic() < deadline, "the worker stopped writing"
        assert measure_until(lambda lag: lag.waiting_events == 0) == NOTHING_WAITS
    finally:
        stopped = threading.Event()
        stopped.set()
        worker.run(stopped)  # returns at once, closing its consumer


def test_brokers_that_do_not_answer_leave_the_lag_unknown_and_say_which(
    lake: Lakehouse, caplog: pytest.LogCaptureFixture
) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    settings = PlatformSettings(bus="kafka", kafka_bootstrap_servers=nobody)

    with caplog.at_level(logging.WARNING, logger="dataplatform.platform.telemetry"):
        published = publish_bus_lag(settings, lake, discover_products())

    assert published == 2
    assert latest_lag(lake) == {MOBILE: ("kafka", None, None), WEB: ("kafka", None, None)}
    assert any(nobody in record.getMessage() for record in caplog.records), caplog.text
