"""What the platform knows about itself, published as lake tables for the operational-metrics and
compliance products to read through `source('platform', ...)`, like any other gold table.

- `platform.gold.model_runs`: every finished model run (status, duration, rows, checks), once.
- `platform.gold.table_stats`: a row per table each time its version changes (rows, bytes, last
  update): freshness and volume over time.
- `platform.gold.catalog`: the catalog in force (owner, tags, retention, PII and columns), one row
  per table, rewritten when it changes.
- `platform.gold.service_metrics`: samples of the gateway's Prometheus metrics (requests,
  latency buckets, collector events), one scrape per round.
- `platform.gold.bus_lag`: per product stream, the events waiting on the bus between the
  collector and bronze and how long the oldest has waited, one row per stream each round.

The platform's jobs process publishes them every round (`dataplatform jobs run`).
"""

import contextlib
import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import tenacity
from prometheus_client.parser import text_string_to_metric_families

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse, Txn
from dataplatform.core.errors import extra_required
from dataplatform.platform.catalog import DataCatalog

if TYPE_CHECKING:
    import redis
    from confluent_kafka import Consumer

    from dataplatform.core.config import PlatformSettings
    from dataplatform.core.processing import Run
    from dataplatform.core.product import Product

logger = logging.getLogger(__name__)

MODEL_RUNS_TABLE = "platform.gold.model_runs"
TABLE_STATS_TABLE = "platform.gold.table_stats"
CATALOG_TABLE = "platform.gold.catalog"
SERVICE_METRICS_TABLE = "platform.gold.service_metrics"
BUS_LAG_TABLE = "platform.gold.bus_lag"
MODEL_RUNS_APP_ID = "platform.model_runs"
BATCH_ROWS = 10_000
# Metrics worth keeping: the platform's own (requests, latency, collector, lake operations).
METRIC_PREFIX = "dataplatform_"

_TIME = pa.timestamp("us", tz="UTC")
MODEL_RUNS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.int64(), nullable=False),
        pa.field("product", pa.string(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("mode", pa.string(), nullable=False),
        pa.field("engine", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("started_at", _TIME, nullable=False),
        pa.field("finished_at", _TIME),
        pa.field("duration_ms", pa.float64()),
        pa.field("rows_in", pa.int64()),
        pa.field("rows_out", pa.int64()),
        pa.field("rows_quarantined", pa.int64()),
        pa.field("checks_failed", pa.int64(), nullable=False),
        pa.field("checks", pa.string(), nullable=False),  # JSON: every check's result
        pa.field("error", pa.string()),
    ]
)
TABLE_STATS_SCHEMA = pa.schema(
    [
        pa.field("observed_at", _TIME, nullable=False),
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("product", pa.string(), nullable=False),
        pa.field("layer", pa.string(), nullable=False),
        pa.field("version", pa.int64()),
        pa.field("row_count", pa.int64()),
        pa.field("size_bytes", pa.int64()),
        pa.field("last_modified", _TIME),
    ]
)
CATALOG_SCHEMA = pa.schema(
    [
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("product", pa.string(), nullable=False),
        pa.field("layer", pa.string(), nullable=False),
        pa.field("owner", pa.string(), nullable=False),
        pa.field("description", pa.string(), nullable=False),
        pa.field("tags", pa.list_(pa.string()), nullable=False),
        pa.field("retention_days", pa.int64()),
        pa.field("pii_columns", pa.list_(pa.string()), nullable=False),
        pa.field("columns", pa.string(), nullable=False),  # JSON: name, type, description, tags
    ]
)
SERVICE_METRICS_SCHEMA = pa.schema(
    [
        pa.field("scraped_at", _TIME, nullable=False),
        pa.field("service", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),  # the sample's name (`..._bucket`)
        pa.field("labels", pa.string(), nullable=False),  # JSON object, keys sorted
        pa.field("value", pa.float64(), nullable=False),
    ]
)
BUS_LAG_SCHEMA = pa.schema(
    [
        pa.field("observed_at", _TIME, nullable=False),
        pa.field("product", pa.string(), nullable=False),
        pa.field("stream", pa.string(), nullable=False),  # the bronze table it lands in
        pa.field("bus", pa.string(), nullable=False),  # embedded | redis | kafka
        pa.field("waiting_events", pa.int64()),  # null: unknown
        pa.field("oldest_waiting_seconds", pa.float64()),  # 0 when nothing waits; null: unknown
    ]
)


def publish_model_runs(store: MetadataStore, lake: Lakehouse) -> int:
    """Append the finished runs not yet published, in id order; returns how many.

    Runs start in id order but finish in any order (each product has its runner), so a batch
    stops before the first run still going: it is published once it ends.
    """
    # Processing brings DuckDB and SQLGlot; only the jobs process, which needs them, imports this.
    from dataplatform.core.processing import RunLog

    _ensure(lake, MODEL_RUNS_TABLE, MODEL_RUNS_SCHEMA, "Every finished model run, once.")
    runs = RunLog(store)
    published = 0
    while True:
        after = lake.transaction_version(MODEL_RUNS_TABLE, MODEL_RUNS_APP_ID) or 0
        fetched = runs.runs_after(after, BATCH_ROWS)
        finished = list(itertools.takewhile(lambda run: run.status != "running", fetched))
        if not finished:
            return published
        rows = pa.Table.from_pylist([_run_row(run) for run in finished], MODEL_RUNS_SCHEMA)
        result = lake.append(MODEL_RUNS_TABLE, rows, txn=Txn(MODEL_RUNS_APP_ID, finished[-1].id))
        published += 0 if result.skipped else rows.num_rows
        if len(finished) < BATCH_ROWS:
            return published


def _run_row(run: "Run") -> dict[str, object]:
    return {
        "run_id": run.id,
        "product": run.model.split(".", 1)[0].replace("_", "-"),
        "model": run.model,
        "mode": run.mode,
        "engine": run.engine,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_ms": run.duration_ms,
        "rows_in": run.rows_in,
        "rows_out": run.rows_out,
        "rows_quarantined": run.rows_quarantined,
        "checks_failed": sum(1 for check in run.checks if not check.get("passed", True)),
        "checks": orjson.dumps(run.checks).decode(),
        "error": run.error,
    }


def publish_table_stats(catalog: DataCatalog, lake: Lakehouse) -> int:
    """Refresh the catalog's statistics and append a row for each table whose version changed."""
    changed = set(catalog.refresh_stats())
    _ensure(lake, TABLE_STATS_TABLE, TABLE_STATS_SCHEMA, "Table statistics at each new version.")
    if not changed:
        return 0
    now = datetime.now(UTC)
    rows = [
        {
            "observed_at": now,
            "table_name": entry.name,
            "product": entry.product,
            "layer": entry.layer,
            "version": entry.version,
            "row_count": entry.row_count,
            "size_bytes": entry.size_bytes,
            "last_modified": entry.last_modified,  # the catalog gives it in UTC
        }
        for entry in catalog.list_tables()
        if entry.name in changed
    ]
    lake.append(TABLE_STATS_TABLE, pa.Table.from_pylist(rows, TABLE_STATS_SCHEMA))
    return len(rows)


def publish_catalog(catalog: DataCatalog, lake: Lakehouse) -> int:
    """Rewrite `platform.gold.catalog` when what the catalog says changed; returns rows written."""
    rows = [
        {
            "table_name": entry.name,
            "product": entry.product,
            "layer": entry.layer,
            "owner": entry.owner,
            "description": entry.description,
            "tags": list(entry.tags),
            "retention_days": entry.retention_days,
            "pii_columns": entry.pii_columns,
            "columns": orjson.dumps(
                [
                    {"name": c.name, "type": c.type, "description": c.description, "tags": c.tags}
                    for c in entry.columns
                ]
            ).decode(),
        }
        for entry in catalog.list_tables()
    ]
    table = pa.Table.from_pylist(rows, CATALOG_SCHEMA)
    digest = hashlib.sha256(orjson.dumps(rows)).hexdigest()
    _ensure(lake, CATALOG_TABLE, CATALOG_SCHEMA, "The data catalog in force, a row per table.")
    # The digest of what was written rides in the commit: an unchanged catalog writes nothing.
    history = lake.table(CATALOG_TABLE).history(1)
    if history and history[0].get("dataplatform.catalog_digest") == digest:
        return 0
    lake.overwrite(CATALOG_TABLE, table, commit_metadata={"dataplatform.catalog_digest": digest})
    written: int = table.num_rows
    return written


def publish_service_metrics(
    lake: Lakehouse, service: str, scrape: Callable[[], str], now: datetime | None = None
) -> int:
    """Append one scrape of a service's Prometheus text (the `dataplatform_*` samples)."""
    scraped_at = now or datetime.now(UTC)
    rows = [
        {
            "scraped_at": scraped_at,
            "service": service,
            "metric": sample.name,
            "labels": orjson.dumps(sample.labels, option=orjson.OPT_SORT_KEYS).decode(),
            "value": float(sample.value),
        }
        for family in text_string_to_metric_families(scrape())
        if family.name.startswith(METRIC_PREFIX)
        for sample in family.samples
    ]
    _ensure(
        lake, SERVICE_METRICS_TABLE, SERVICE_METRICS_SCHEMA, "Samples of the services' metrics."
    )
    if rows:
        lake.append(SERVICE_METRICS_TABLE, pa.Table.from_pylist(rows, SERVICE_METRICS_SCHEMA))
    return len(rows)


# Counting the events of a backlog reads its entries (one per collector request, each holding
# that request's events): a backlog larger than this is left uncounted (null) rather than read
# every round; how long its oldest event has waited is still measured.
MAX_COUNTED_ENTRIES = 10_000
_PAGE_ENTRIES = 500


@dataclass(frozen=True)
class StreamLag:
    """What waits on the bus for one stream: events (None: unknown) and the oldest one's age."""

    waiting_events: int | None
    oldest_waiting_seconds: float | None


NOTHING_WAITS = StreamLag(0, 0.0)


def publish_bus_lag(
    settings: "PlatformSettings",
    lake: Lakehouse,
    products: "Sequence[Product]",
    now: datetime | None = None,
) -> int:
    """Append a row per product stream: the events waiting on the bus, the oldest one's age."""
    _ensure(lake, BUS_LAG_TABLE, BUS_LAG_SCHEMA, "Events waiting on the bus, per stream.")
    streams = [(p.name, p.table_name(s.table)) for p in products for s in p.streams]
    if not streams:
        return 0
    tables = [table for _, table in streams]
    observed_at = now or datetime.now(UTC)
    if settings.bus == "redis":
        lags = redis_stream_lags(settings.redis_url, tables)
    elif settings.bus == "kafka":
        lags = kafka_stream_lags(settings.kafka_bootstrap_servers, tables, observed_at)
    else:
        # The embedded bus commits to bronze before the collector answers: an event is either
        # refused or already in bronze, so nothing acknowledged ever waits.
        lags = {table: NOTHING_WAITS for table in tables}
    rows = [
        {
            "observed_at": observed_at,
            "product": product,
            "stream": table,
            "bus": settings.bus,
            "waiting_events": lags[table].waiting_events,
            "oldest_waiting_seconds": lags[table].oldest_waiting_seconds,
        }
        for product, table in streams
    ]
    lake.append(BUS_LAG_TABLE, pa.Table.from_pylist(rows, BUS_LAG_SCHEMA))
    return len(rows)


def redis_stream_lags(url: str, tables: Sequence[str]) -> dict[str, StreamLag]:
    """Per table, what waits in its Redis stream for the ingestion workers: entries not yet
    delivered to them, and entries delivered but not acknowledged (not yet in bronze)."""
    with extra_required("redis", "Measuring the Redis bus' lag"):
        import redis

    client = redis.Redis.from_url(url)
    try:
        # Ages are taken on Redis' clock, the one that stamped the entry IDs.
        seconds, micros = client.time()
        now_ms = seconds * 1000 + micros / 1000
        return {table: _stream_lag(client, table, now_ms) for table in tables}
    finally:
        client.close()


def _stream_lag(client: "redis.Redis", table: str, now_ms: float) -> StreamLag:
    import redis

    from dataplatform.core.connectors.bus.redis import BRONZE_WRITERS, stream_id_version, stream_key

    key = stream_key(table)
    try:
        groups: Any = client.xinfo_groups(key)
    except redis.ResponseError as exc:
        if "no such key" in str(exc):
            return NOTHING_WAITS  # nothing was ever published to it
        raise
    group = next((g for g in groups if g["name"] == BRONZE_WRITERS.encode()), None)
    if group is None:
        # No worker has read the stream yet (the first one creates the group): everything waits.
        first: Any = client.xrange(key, "-", "+", count=1)
        if not first:
            return NOTHING_WAITS
        oldest: bytes = first[0][0]
        entries: int | None = client.xlen(key)
        pending: set[bytes] = set()
        delivered = -1
    else:
        # Entries up to the last delivered one wait while pending (read, not yet acknowledged);
        # every later one waits. `lag` is None when Redis cannot tell (entries were deleted).
        delivered = stream_id_version(group["last-delivered-id"])
        entries = None if group["lag"] is None else group["pending"] + group["lag"]
        pending = set()
        if group["pending"]:
            summary: Any = client.xpending(key, BRONZE_WRITERS)
            oldest = summary["min"]
            if group["pending"] > MAX_COUNTED_ENTRIES:
                return StreamLag(None, _age(oldest, now_ms))
            listed: Any = client.xpending_range(key, BRONZE_WRITERS, "-", "+", group["pending"])
            pending = {row["message_id"] for row in listed}
        else:
            after: Any = client.xrange(key, f"({group['last-delivered-id'].decode()}", "+", 1)
            if not after:
                return NOTHING_WAITS
            oldest = after[0][0]
    if entries is not None and entries > MAX_COUNTED_ENTRIES:
        return StreamLag(None, _age(oldest, now_ms))
    counted = _count_events(
        client, key, oldest, lambda entry: entry in pending or stream_id_version(entry) > delivered
    )
    return StreamLag(counted, _age(oldest, now_ms))


def _age(entry_id: bytes, now_ms: float) -> float:
    """Seconds since Redis added the entry: its ID starts with the milliseconds it was added."""
    return max(now_ms - int(entry_id.split(b"-")[0]), 0) / 1000


def _count_events(
    client: "redis.Redis", key: str, start: bytes, waits: Callable[[bytes], bool]
) -> int | None:
    """The events in the waiting entries from `start` on; None past `MAX_COUNTED_ENTRIES`."""
    from dataplatform.core.connectors.bus import decode_rows

    events = read = 0
    lower = start.decode()
    while True:
        page: Any = client.xrange(key, lower, "+", count=_PAGE_ENTRIES)
        for entry, fields in page:
            # An entry without rows was trimmed away: its events are lost, not waiting.
            if waits(entry) and b"rows" in fields:
                events += decode_rows(fields[b"rows"]).num_rows
        read += len(page)
        if len(page) < _PAGE_ENTRIES:
            return events
        if read >= MAX_COUNTED_ENTRIES:
            return None
        lower = f"({page[-1][0].decode()}"


# How long a round waits on the Kafka brokers before it publishes the lag as unknown.
KAFKA_TIMEOUT_SECONDS = 5.0
UNKNOWN_LAG = StreamLag(None, None)


def kafka_stream_lags(
    bootstrap_servers: str, tables: Sequence[str], now: datetime
) -> dict[str, StreamLag]:
    """Per table, what waits in its topic for the ingestion workers' group: in each partition,
    the messages from the group's committed offset on (from the partition's first offset when it
    never committed one), their events counted, the oldest one's age at `now` by its timestamp.
    Brokers that do not answer make every table's lag unknown, with a warning naming them."""
    with extra_required("kafka", "Measuring the Kafka bus' lag"):
        from confluent_kafka import Consumer, KafkaException

    from dataplatform.core.connectors.bus.kafka import BRONZE_WRITERS, topic_for

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            # The workers' group, to read its committed offsets: a consumer that never
            # subscribes never joins the group, and this one commits nothing.
            "group.id": BRONZE_WRITERS,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        topics = consumer.list_topics(timeout=KAFKA_TIMEOUT_SECONDS).topics
        return {table: _topic_lag(consumer, topics.get(topic_for(table)), now) for table in tables}
    except (KafkaException, TimeoutError) as exc:
        logger.warning(
            "bus lag: the Kafka brokers at %s did not answer (%s); every stream's lag is "
            "published as unknown this round",
            bootstrap_servers,
            exc,
        )
        return {table: UNKNOWN_LAG for table in tables}
    finally:
        consumer.close()


def _topic_lag(consumer: "Consumer", topic: Any, now: datetime) -> StreamLag:
    """What waits in `topic` (its metadata; None when the brokers have no such topic)."""
    if topic is None:
        return NOTHING_WAITS  # nothing was ever published to it
    waiting = _waiting_offsets(consumer, topic.topic, list(topic.partitions))
    if not waiting:
        return NOTHING_WAITS
    # As with Redis, a backlog of more than MAX_COUNTED_ENTRIES messages is not read every round.
    counted = sum(end - first for first, end in waiting.values()) <= MAX_COUNTED_ENTRIES
    events, oldest_ms = _read_waiting(consumer, topic.topic, waiting, counted)
    if counted and not events:
        return NOTHING_WAITS  # only messages that are not rows, on their way to quarantine
    age = None if oldest_ms is None else max(now.timestamp() * 1000 - oldest_ms, 0) / 1000
    return StreamLag(events if counted else None, age)


def _coordinator_moving(error: BaseException) -> bool:
    """Whether `error` says the group's coordinator is not ready yet (as on a broker just
    started or restarted) or another retriable failure: worth asking again."""
    from confluent_kafka import KafkaError, KafkaException

    if not isinstance(error, KafkaException):
        return False
    moving = {
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
    }
    return error.args[0].code() in moving or bool(error.args[0].retriable())


@tenacity.retry(
    retry=tenacity.retry_if_exception(_coordinator_moving),
    stop=tenacity.stop_after_delay(KAFKA_TIMEOUT_SECONDS),
    wait=tenacity.wait_fixed(0.2),
    reraise=True,
)
def _waiting_offsets(
    consumer: "Consumer", topic: str, partitions: list[int]
) -> dict[int, tuple[int, int]]:
    """Per partition with messages waiting: the first one's offset and the partition's end."""
    from confluent_kafka import TopicPartition

    asked = [TopicPartition(topic, partition) for partition in partitions]
    waiting = {}
    for committed in consumer.committed(asked, timeout=KAFKA_TIMEOUT_SECONDS):
        start, end = consumer.get_watermark_offsets(committed, timeout=KAFKA_TIMEOUT_SECONDS)
        # Never committed, the offset is negative: all the partition holds waits. Messages that
        # retention deleted before a worker read them are lost, not waiting.
        first = max(committed.offset, start)
        if first < end:
            waiting[committed.partition] = (first, end)
    return waiting


def _read_waiting(
    consumer: "Consumer", topic: str, waiting: dict[int, tuple[int, int]], counted: bool
) -> tuple[int, int | None]:
    """The events in the `waiting` messages and the oldest timestamp (ms) of those holding events,
    all read when `counted`; else only each partition's first is read, whatever it holds."""
    from confluent_kafka import KafkaError, KafkaException, TopicPartition

    consumer.assign([TopicPartition(topic, p, first) for p, (first, _) in waiting.items()])
    unread = {partition: end for partition, (_, end) in waiting.items()}
    events = 0
    oldest_ms: int | None = None
    deadline = time.monotonic() + KAFKA_TIMEOUT_SECONDS
    while unread:
        if time.monotonic() > deadline:
            raise TimeoutError(f"`{topic}` gave its waiting messages too slowly")
        for message in consumer.consume(_PAGE_ENTRIES, timeout=0.5):
            partition, error = message.partition(), message.error()
            if error is not None and error.code() != KafkaError._PARTITION_EOF:
                raise KafkaException(error)
            if partition is None or partition not in unread:
                continue  # from a partition already read as far as this round reads it
            if error is not None:
                del unread[partition]  # at its end
                continue
            carried = _events_in(message.value()) if counted else None
            events += carried or 0
            timestamp_type, timestamp_ms = message.timestamp()
            if timestamp_type and carried != 0 and (oldest_ms is None or timestamp_ms < oldest_ms):
                oldest_ms = timestamp_ms
            if not counted or (message.offset() or 0) >= unread[partition] - 1:
                del unread[partition]
                consumer.pause([TopicPartition(topic, partition)])
    consumer.unassign()
    return events, oldest_ms


def _events_in(value: bytes | None) -> int:
    """The events in a message; none in one that is not rows (the worker quarantines it)."""
    from dataplatform.core.connectors.bus import decode_rows

    if value is None:
        return 0
    try:
        return int(decode_rows(value).num_rows)
    except (pa.ArrowException, OSError):  # pyarrow says OSError of a bad IPC header
        return 0


def _ensure(lake: Lakehouse, table: str, schema: pa.Schema, description: str) -> None:
    if not lake.exists(table):
        lake.create(table, schema, description=description)


MONITOR_USER = "platform-monitor"


def gateway_scraper(
    settings: "PlatformSettings", store: MetadataStore, url: str
) -> Callable[[], str]:
    """A function that reads the gateway's `/metrics` at `url` as the `platform-monitor` user
    (role `monitoring`, created on first use with a password nobody knows)."""
    import httpx2

    from dataplatform.core.errors import ConflictError
    from dataplatform.core.product import discover_products
    from dataplatform.platform.auth import Auth, generate_password

    auth = Auth.create(settings, store, [product.name for product in discover_products()])
    auth.roles.ensure_builtin()
    # Created by an earlier run, it is kept: tokens are issued here, no password is needed.
    with contextlib.suppress(ConflictError):
        auth.users.create(MONITOR_USER, generate_password(), ["monitoring"], "platform jobs")
    client = httpx2.Client(timeout=10)

    def scrape() -> str:
        token = auth.tokens.issue(MONITOR_USER).access_token
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        return response.text

    return scrape
