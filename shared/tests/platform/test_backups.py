"""Backups: taken incrementally by file, verified, restored into an empty lake and store equal
to what was backed up, and never bringing back someone erased after (or before) the backup."""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import InvalidRequestError
from dataplatform.core.governance import SuppressionList, protect
from dataplatform.platform.audit import AuditEntry, AuditLog
from dataplatform.platform.backups import Backups, _dump_store

ORDERS = "shop.silver.orders"
DAILY = "shop.gold.daily"
PEOPLE = {ORDERS: frozenset({"user_id"})}
CLI = str(Path(sys.executable).with_name("dataplatform"))


ORDER = pa.schema([("user_id", pa.string()), ("amount", pa.float64())])


def orders(*rows: tuple[str, float]) -> pa.Table:
    return pa.table({"user_id": [r[0] for r in rows], "amount": [r[1] for r in rows]}, ORDER)


def platform(folder: Path) -> tuple[Lakehouse, MetadataStore]:
    store = MetadataStore(f"sqlite:///{folder / 'metadata.db'}")
    store.upgrade()
    lake = Lakehouse(folder / "lake")
    protect(lake, store, PEOPLE)
    return lake, store


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Lakehouse, MetadataStore]:
    lake, store = platform(tmp_path / "live")
    lake.create(ORDERS, ORDER)
    lake.append(ORDERS, orders(("ann", 10.0), ("ben", 20.0)))
    lake.append(ORDERS, orders(("ann", 5.0), ("cat", 7.5)))
    daily = pa.table({"day": ["2026-12-01"], "revenue": [42.5]})
    lake.create(DAILY, daily.schema)
    lake.append(DAILY, daily)
    AuditLog(store).append([AuditEntry(actor="alice", actor_kind="user", action="auth.login")])
    return lake, store


def rows(lake: Lakehouse, table: str) -> list[dict[str, object]]:
    return sorted(lake.read(table).to_pylist(), key=lambda row: sorted(row.items()))


def test_a_restored_backup_equals_every_table_and_the_store(
    shop: tuple[Lakehouse, MetadataStore], tmp_path: Path
) -> None:
    lake, store = shop
    backups = Backups(str(tmp_path / "backups"))
    report = backups.create(lake, store)
    before = {t: rows(lake, t) for t in (ORDERS, DAILY)}
    dump = _dump_store(store)
    assert backups.verify(report.backup_id) == []

    # The disaster: the lake and the store are gone; an empty pair takes their place.
    fresh, empty = platform(tmp_path / "new")
    restored = backups.restore(report.backup_id, fresh, empty, PEOPLE)
    assert restored == {"id": report.backup_id, "tables": 2, "rows_erased_again": 0}
    assert {t: rows(fresh, t) for t in (ORDERS, DAILY)} == before
    assert _dump_store(empty) == dump
    assert fresh.version(ORDERS) == lake.version(ORDERS)
    fresh.append(ORDERS, orders(("dan", 1.0)))  # and it goes on being written
    assert len(rows(fresh, ORDERS)) == 5


def test_a_second_backup_copies_only_the_new_files(
    shop: tuple[Lakehouse, MetadataStore], tmp_path: Path
) -> None:
    lake, store = shop
    backups = Backups(str(tmp_path / "backups"))
    first = backups.create(lake, store, datetime(2026, 12, 1, tzinfo=UTC))
    lake.append(ORDERS, orders(("dan", 3.0)))
    second = backups.create(lake, store, datetime(2026, 12, 2, tzinfo=UTC))
    # One data file and one commit are new; everything else was there.
    assert (second.files_copied, second.files_kept) == (2, first.files_copied)
    assert [b["rows"] for b in backups.listing()] == [5, 6]
    fresh, empty = platform(tmp_path / "new")
    backups.restore(first.backup_id, fresh, empty, PEOPLE)
    assert len(rows(fresh, ORDERS)) == 4  # the older backup, at its own version


def test_a_backup_taken_before_an_erasure_restores_without_the_person(
    shop: tuple[Lakehouse, MetadataStore], tmp_path: Path
) -> None:
    lake, store = shop
    backups = Backups(str(tmp_path / "backups"))
    before = backups.create(lake, store)
    # Ann is erased after the backup: listed, her rows deleted; the platform's jobs copy the
    # erasure to the backups' location within a round.
    SuppressionList(store).add(["ann"], "erasure-1")
    lake.delete(ORDERS, "user_id = 'ann'")
    assert backups.record_erasures(store) == 1

    fresh, empty = platform(tmp_path / "new")
    restored = backups.restore(before.backup_id, fresh, empty, PEOPLE)
    assert restored["rows_erased_again"] == 2
    assert {row["user_id"] for row in rows(fresh, ORDERS)} == {"ben", "cat"}
    # She stays erased: a write naming her is kept out of the restored lake too.
    fresh.append(ORDERS, orders(("ann", 99.0), ("eve", 1.0)))
    assert {row["user_id"] for row in rows(fresh, ORDERS)} == {"ben", "cat", "eve"}


def test_verify_names_a_missing_file(shop: tuple[Lakehouse, MetadataStore], tmp_path: Path) -> None:
    lake, store = shop
    backups = Backups(str(tmp_path / "backups"))
    report = backups.create(lake, store)
    data = sorted((tmp_path / "backups/files/shop/silver/orders").glob("*.parquet"))[0]
    data.unlink()
    (problem,) = backups.verify(report.backup_id)
    assert problem == f"{ORDERS}: 1 file(s) missing, first {data.name}"


def test_a_restore_refuses_a_lake_that_is_not_empty(
    shop: tuple[Lakehouse, MetadataStore], tmp_path: Path
) -> None:
    lake, store = shop
    backups = Backups(str(tmp_path / "backups"))
    report = backups.create(lake, store)
    with pytest.raises(InvalidRequestError, match="has tables"):
        backups.restore(report.backup_id, lake, store, PEOPLE)


def test_the_cli_backs_up_lists_verifies_and_restores(
    shop: tuple[Lakehouse, MetadataStore], tmp_path: Path
) -> None:
    lake, _ = shop
    location = str(tmp_path / "backups")

    def cli(folder: str, *args: str) -> str:
        env = {
            "PATH": str(Path(sys.executable).parent),
            "HOME": str(tmp_path),
            "DATAPLATFORM_LAKE_ROOT": str(tmp_path / folder / "lake"),
            "DATAPLATFORM_DATABASE_URL": f"sqlite:///{tmp_path / folder / 'metadata.db'}",
            "DATAPLATFORM_BACKUP_LOCATION": location,
        }
        done = subprocess.run([CLI, "backup", *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    created = cli("live", "create")
    backup_id = created.split()[1].rstrip(":")
    assert "2 tables" in created
    assert backup_id in cli("live", "list")
    assert "is whole" in cli("live", "verify", backup_id)
    restored = cli("new", "restore", backup_id)
    assert "2 tables" in restored
    assert rows(Lakehouse(tmp_path / "new" / "lake"), ORDERS) == rows(lake, ORDERS)
