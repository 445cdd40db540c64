"""Hand-made platform tables (an audit chain, lineage edges, a catalog) on a real lake, the
product's models run over them, and a gateway serving that lake."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest

from compliance_auditing.product import product
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import ModelRunner
from dataplatform.platform.audit import (
    AUDIT_SCHEMA,
    AUDIT_TABLE,
    GENESIS_HASH,
    LINEAGE_SCHEMA,
    LINEAGE_TABLE,
    AuditEntry,
    content_hash,
)
from dataplatform.testing import RunningGateway, platform_settings, running_gateway


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, clock(hour), tzinfo=UTC)


def read(
    actor: str,
    day: date,
    table: str,
    columns: list[str],
    rows: int,
    roles: list[str],
    *,
    pii: bool = False,
    kind: str = "user",
    hour: int = 12,
) -> AuditEntry:
    """A `data.read` entry as the platform writes it."""
    return AuditEntry(
        actor=actor,
        actor_kind=kind,
        action="data.read",
        method="GET",
        route="/x/{table}",
        status=200,
        table_name=table,
        row_count=rows,
        pii=pii,
        request_id=f"r-{actor}-{day}-{hour}",
        detail={"columns": columns, "roles": roles},
        recorded_at=at(day, hour),
    )


def key_created(name: str, day: date, by: str = "root") -> AuditEntry:
    return AuditEntry(
        actor=by,
        actor_kind="user",
        action="keys.create",
        method="POST",
        route="/admin/api-keys",
        status=201,
        detail={"name": name, "roles": ["viewer"]},
        recorded_at=at(day, 9),
    )


@dataclass
class Chain:
    """Audit rows as the platform publishes them, hash-linked from row 1."""

    rows: list[dict[str, Any]]

    @classmethod
    def of(cls, entries: list[AuditEntry]) -> "Chain":
        chain = cls([])
        chain.extend(entries)
        return chain

    def extend(self, entries: list[AuditEntry]) -> list[dict[str, Any]]:
        added = []
        for entry in entries:
            seq = len(self.rows) + 1
            prev_hash = self.rows[-1]["hash"] if self.rows else GENESIS_HASH
            row = {
                **{
                    name: getattr(entry, name)
                    for name in AUDIT_SCHEMA.names
                    if hasattr(entry, name)
                },
                "detail": orjson.dumps(entry.detail, option=orjson.OPT_SORT_KEYS).decode(),
                "seq": seq,
                "prev_hash": prev_hash,
                "hash": content_hash(seq, entry, prev_hash),
            }
            self.rows.append(row)
            added.append(row)
        return added


def arrow(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, AUDIT_SCHEMA)


def publish(lake: Lakehouse, rows: list[dict[str, Any]]) -> None:
    """Append audit rows to `platform.gold.audit_log`, as the platform's jobs do."""
    if not lake.exists(AUDIT_TABLE):
        lake.create(AUDIT_TABLE, AUDIT_SCHEMA)
    lake.append(AUDIT_TABLE, arrow(rows))


class Models:
    """The product's models over one lake, with their run records in `folder`."""

    def __init__(self, lake: Lakehouse, folder: Path) -> None:
        self.store = MetadataStore(f"sqlite:///{folder / 'runs.db'}")
        self.store.upgrade()
        self.runner = ModelRunner(product.model_graph(), lake, self.store)

    def run(self) -> None:
        results = self.runner.run()
        failed = [r for r in results if r.status not in ("succeeded", "up_to_date", "waiting")]
        assert not failed, failed


@pytest.fixture(scope="session")
def gateway_over() -> Callable[[Path], Iterator[RunningGateway]]:
    """Starts a gateway on the lake under `folder` (a context manager)."""

    def start(folder: Path) -> Any:
        settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
        return running_gateway(settings)

    return start  # type: ignore[return-value]


def eventually(check: Callable[[], Any], seconds: float = 10.0) -> Any:
    """`check()` once it returns something true (the gateway re-reads a table a moment after
    a commit); fails with the last answer."""
    deadline = time.monotonic() + seconds
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            assert answer, answer
            return answer
        time.sleep(0.1)


class Kit:
    """The helpers above, for test modules (which cannot import this file)."""

    at = staticmethod(at)
    read = staticmethod(read)
    key_created = staticmethod(key_created)
    arrow = staticmethod(arrow)
    publish = staticmethod(publish)
    eventually = staticmethod(eventually)
    replace = staticmethod(replace)
    Chain = Chain
    Models = Models


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit


# --- the hand-made audit log and lineage that the report, search and lineage tests share ------

ACTIVE_USERS = "mobile_user_analytics.gold.active_users"
PAGES = "web_user_analytics.gold.pages"
USER_SUMMARY = "mobile_user_analytics.gold.user_summary"


def audit_calendar() -> tuple[list[AuditEntry], list[AuditEntry]]:
    """Two publications of the audit log, in time order (all 2026, UTC):

    08-01 09:00  root creates key etl            08-05  key:etl reads 30 rows
    09-01 09:00  root creates key bi             09-01, 09-02  key:old reads 5 rows (no creation on record)
    09-11        key:bi reads 5 rows (10 days after creation)
    09-14        key:etl reads 30 rows (40 days after its last use)
    09-20..09-29 ivy and ole read 10 rows of web pages a day; new reads 5 rows on 09-28
    09-30 10:00  ivy reads 60 rows, ole 99 rows
    ---- second publication ----
    09-30 14:00  ivy reads 40 rows (100 that day)   15:00 new reads 500 rows
    10-01 10:00  ana reads 5 rows of user_summary (viewer)
          11:00  pat reads 3 rows of it with PII (roles pii-reader, viewer)
          14:00  ana reads 7 more rows          16:00  eve fails to log in
    """

    def day(month: int, number: int) -> date:
        return date(2026, month, number)

    web = ["day", "path", "views"]
    first = [
        key_created("etl", day(8, 1)),
        read("key:etl", day(8, 5), ACTIVE_USERS, ["day", "dau"], 30, ["viewer"], kind="api_key"),
        key_created("bi", day(9, 1)),
        read("key:old", day(9, 1), ACTIVE_USERS, ["day"], 5, ["viewer"], kind="api_key"),
        read("key:old", day(9, 2), ACTIVE_USERS, ["day"], 5, ["viewer"], kind="api_key"),
        read("key:bi", day(9, 11), ACTIVE_USERS, ["day"], 5, ["viewer"], kind="api_key"),
        read("key:etl", day(9, 14), ACTIVE_USERS, ["day", "dau"], 30, ["viewer"], kind="api_key"),
    ]
    for number in range(20, 30):
        first.append(read("ivy", day(9, number), PAGES, web, 10, ["viewer"]))
        first.append(read("ole", day(9, number), PAGES, web, 10, ["viewer"]))
        if number == 28:
            first.append(read("new", day(9, number), PAGES, web, 5, ["viewer"]))
    first.append(read("ivy", day(9, 30), PAGES, web, 60, ["viewer"], hour=10))
    first.append(read("ole", day(9, 30), PAGES, web, 99, ["viewer"], hour=10))
    summary = ["user_id", "events"]
    second = [
        read("ivy", day(9, 30), PAGES, web, 40, ["viewer"], hour=14),
        read("new", day(9, 30), PAGES, web, 500, ["viewer"], hour=15),
        read("ana", day(10, 1), USER_SUMMARY, summary, 5, ["viewer"], hour=10),
        read(
            "pat", day(10, 1), USER_SUMMARY, summary, 3, ["pii-reader", "viewer"], pii=True, hour=11
        ),
        read("ana", day(10, 1), USER_SUMMARY, summary, 7, ["viewer"], hour=14),
        replace(
            read("eve", day(10, 1), USER_SUMMARY, [], 0, [], hour=16),
            action="auth.login",
            outcome="failure",
            table_name=None,
            row_count=None,
            status=401,
            detail={},
        ),
    ]
    return first, second


M = "mobile_user_analytics"


def lineage_edges() -> list[dict[str, Any]]:
    """bronze.app_events -> silver.app_events -> gold.user_summary -> segmentation's user_features.

    gold.user_summary was recorded twice: its older edges (devices from device_id) are no longer
    in force.
    """
    old, new = at(date(2026, 9, 1)), at(date(2026, 9, 15))
    edges = [
        ("m.silver", f"{M}.bronze.app_events", "user_id", f"{M}.silver.app_events", "user_id", new),
        ("m.silver", f"{M}.bronze.app_events", "event", f"{M}.silver.app_events", "event", new),
        (
            "m.summary",
            f"{M}.silver.app_events",
            "device_id",
            f"{M}.gold.user_summary",
            "devices",
            old,
        ),
        (
            "m.summary",
            f"{M}.silver.app_events",
            "user_id",
            f"{M}.gold.user_summary",
            "user_id",
            old,
        ),
        (
            "m.summary",
            f"{M}.silver.app_events",
            "user_id",
            f"{M}.gold.user_summary",
            "user_id",
            new,
        ),
        ("m.summary", f"{M}.silver.app_events", "*", f"{M}.gold.user_summary", "events", new),
        (
            "m.summary",
            f"{M}.silver.app_events",
            "event",
            f"{M}.gold.user_summary",
            "last_event",
            new,
        ),
        (
            "s.features",
            f"{M}.gold.user_summary",
            "user_id",
            "user_segmentation.gold.user_features",
            "person_id",
            new,
        ),
    ]
    names = (
        "model",
        "source_table",
        "source_column",
        "target_table",
        "target_column",
        "recorded_at",
    )
    return [
        {"edge_id": i, **dict(zip(names, edge, strict=True))} for i, edge in enumerate(edges, 1)
    ]


@dataclass
class Reports:
    gateway: RunningGateway
    lake: Lakehouse
    chain: list[dict[str, Any]]


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reports]:
    """A gateway over a lake where the platform published `audit_calendar()` in two rounds and
    `lineage_edges()`, and the product's models ran after each round."""
    folder = tmp_path_factory.mktemp("reports")
    lake = Lakehouse(folder / "lake")
    first, second = audit_calendar()
    chain = Chain.of(first)
    models = Models(lake, folder)
    lake.append(LINEAGE_TABLE, pa.Table.from_pylist(lineage_edges(), LINEAGE_SCHEMA))
    publish(lake, chain.rows)
    models.run()
    publish(lake, chain.extend(second))
    models.run()
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    with running_gateway(settings) as gateway:
        yield Reports(gateway, lake, chain.rows)
    models.store.dispose()
