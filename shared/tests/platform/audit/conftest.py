"""A chain of ten known entries, on SQLite and on PostgreSQL, with SQL to tamper with it."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import text

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.platform.audit import GENESIS_HASH, AuditEntry, AuditLog

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Chain:
    """An audit log that held exactly `entry(1)`..`entry(10)` at seq 1..10 when the test began."""

    log: AuditLog

    @property
    def store(self) -> MetadataStore:
        return self.log.store

    @staticmethod
    def entry(number: int) -> AuditEntry:
        """`user-<number>` reads `shop.gold.orders` (`number` rows), `number` s after START."""
        return AuditEntry(
            actor=f"user-{number}",
            actor_kind="user",
            action="data.read",
            method="GET",
            route="/shop/tables/{table}",
            status=200,
            table_name="shop.gold.orders",
            row_count=number,
            pii=number % 2 == 0,
            request_id=f"request-{number}",
            detail={"number": number},
            recorded_at=START + timedelta(seconds=number),
        )

    def sql(self, statement: str, **params: Any) -> None:
        """Run `statement` on the database directly, as someone editing it by hand would."""
        with self.store.engine.begin() as connection:
            connection.execute(text(statement), params)

    def hash(self, seq: int) -> str:
        """The hash row `seq` holds now."""
        (row,) = self.log.rows(after=seq - 1, limit=1)
        return row.hash

    def empty(self) -> None:
        self.sql("delete from audit_log")
        self.sql("delete from audit_chain_head where id <> 1")  # the published head, if any
        self.sql("update audit_chain_head set seq = 0, hash = :h", h=GENESIS_HASH)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def shared_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MetadataStore]:
    """One migrated store per database for a whole module; `chain` empties it for each test."""
    if request.param == "sqlite":
        yield from _migrated(f"sqlite:///{tmp_path_factory.mktemp('audit') / 'metadata.db'}")
        return
    server = str(request.getfixturevalue("postgres_server"))
    name = f"dataplatform_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = sqlalchemy.make_url(server).set(database=name)
        yield from _migrated(url.render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrated(url: str) -> Iterator[MetadataStore]:
    store = MetadataStore(url)
    store.upgrade()
    yield store
    store.dispose()


@pytest.fixture
def chain(shared_store: MetadataStore) -> Chain:
    """The ten entries, chained afresh for this test."""
    chain = Chain(AuditLog(shared_store))
    chain.empty()
    chain.log.append([Chain.entry(number) for number in range(1, 11)])
    return chain
