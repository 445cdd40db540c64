"""The metadata store and its migrations, on a SQLite file and on a fresh PostgreSQL database."""

import sqlalchemy

from dataplatform.core.connectors.db import MetadataStore

PLATFORM_TABLES = {"snapshots", "snapshot_tables", "sources"}


def table_names(store: MetadataStore) -> set[str]:
    return set(sqlalchemy.inspect(store.engine).get_table_names()) - {"alembic_version"}


def test_migrations_go_up_and_down(database_url: str) -> None:
    store = MetadataStore(database_url)

    store.upgrade()
    assert store.current_revision() == store.head_revision()
    assert table_names(store) >= PLATFORM_TABLES

    store.downgrade("0001")  # one step at a time: each downgrade must work on its own
    assert store.current_revision() == "0001"
    assert "sources" not in table_names(store)
    store.downgrade("base")
    assert store.current_revision() is None
    assert table_names(store) == set()

    store.upgrade()  # and up again, as after a rollback of a bad deploy
    assert table_names(store) >= PLATFORM_TABLES
    store.dispose()


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    store = MetadataStore(database_url)
    store.upgrade()
    store.upgrade()

    assert store.current_revision() == store.head_revision()
    store.dispose()


def test_sqlite_uses_wal_and_waits_for_locks(sqlite_url: str) -> None:
    store = MetadataStore(sqlite_url)
    with store.engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()

    assert journal == "wal"
    assert timeout == 30_000
    store.dispose()


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    store = MetadataStore("postgresql://app:secret@db.internal/meta")

    assert store.url.drivername == "postgresql+psycopg"
    assert store.safe_url == "postgresql+psycopg://app:***@db.internal/meta"
    store.dispose()
