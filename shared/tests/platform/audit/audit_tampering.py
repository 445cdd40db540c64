"""The ways an operator can damage the audit chain by hand, each a named function with the finding
`verify` must report for it.

Each tamper works on the chain `published_chain` builds: ten known entries at rows 1-10, published
to the lake. The audit tests run every one of them on SQLite and PostgreSQL; the reliability suite
runs them too, so they take only a store and a lake (no test fixture):

    published_chain(store, lake)
    case.tamper(store, lake)
    assert case.found_in(verify(store, lake))
"""

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow.compute as pc
from sqlalchemy import text

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.audit import (
    AUDIT_TABLE,
    GENESIS_HASH,
    AuditEntry,
    AuditLog,
    VerifyReport,
    content_hash,
    publish_audit_log,
)

CHAIN_ROWS = 10
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


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
        request_id=f"request-{number}",
        detail={"number": number},
        recorded_at=START + timedelta(seconds=number),
    )


def published_chain(store: MetadataStore, lake: Lakehouse) -> None:
    """Empty the chain, append entries 1-10 and publish them (a migrated store, a fresh lake)."""
    sql(store, "delete from audit_log")
    sql(store, "delete from audit_chain_head")
    sql(store, "insert into audit_chain_head (id, seq, hash) values (1, 0, :h)", h=GENESIS_HASH)
    AuditLog(store).append([entry(number) for number in range(1, CHAIN_ROWS + 1)])
    publish_audit_log(store, lake)


def sql(store: MetadataStore, statement: str, **params: Any) -> None:
    """Run `statement` on the database directly, as someone editing it by hand would."""
    with store.engine.begin() as connection:
        connection.execute(text(statement), params)


def stored_hash(store: MetadataStore, seq: int) -> str:
    (row,) = AuditLog(store).rows(after=seq - 1, limit=1)
    return row.hash


def move(store: MetadataStore, seq: int, to: int) -> None:
    sql(store, "update audit_log set seq = :to where seq = :seq", seq=seq, to=to)


def insert_row(store: MetadataStore, seq: int, forged: AuditEntry, prev_hash: str) -> None:
    """A row written straight into the table, with a hash computed the way the chain does."""
    sql(
        store,
        "insert into audit_log (seq, recorded_at, actor, actor_kind, action, outcome, method, "
        "route, status, table_name, row_count, pii, request_id, detail, prev_hash, hash) values "
        "(:seq, :recorded_at, :actor, :actor_kind, :action, :outcome, :method, :route, :status, "
        ":table_name, :row_count, :pii, :request_id, :detail, :prev_hash, :hash)",
        seq=seq,
        **{**asdict(forged), "detail": orjson.dumps(forged.detail).decode()},
        prev_hash=prev_hash,
        hash=content_hash(seq, forged, prev_hash),
    )


def move_the_head_back(store: MetadataStore, seq: int) -> None:
    sql(
        store,
        "update audit_chain_head set seq = :seq, hash = :h where id = 1",
        seq=seq,
        h=(stored_hash(store, seq)),
    )


# --- the tampers ----------------------------------------------------------------------------------


def edit_a_row(store: MetadataStore, lake: Lakehouse) -> None:
    sql(store, "update audit_log set actor = 'mallory' where seq = 4")


def delete_a_row(store: MetadataStore, lake: Lakehouse) -> None:
    sql(store, "delete from audit_log where seq = 5")


def swap_two_rows(store: MetadataStore, lake: Lakehouse) -> None:
    move(store, 4, -1)
    move(store, 6, 4)
    move(store, -1, 6)


def insert_a_row(store: MetadataStore, lake: Lakehouse) -> None:
    """A forged row 5, hashed the chain's way, the later rows and the head renumbered."""
    for seq in range(CHAIN_ROWS, 4, -1):
        move(store, seq, seq + 1)
    forged = replace(entry(5), actor="mallory", detail={"forged": True})
    insert_row(store, 5, forged, stored_hash(store, 4))
    sql(store, "update audit_chain_head set seq = :seq where id = 1", seq=CHAIN_ROWS + 1)


def truncate_the_tail(store: MetadataStore, lake: Lakehouse) -> None:
    """Rows 9-10 deleted and the head moved back to row 8: a consistent, shorter chain."""
    sql(store, "delete from audit_log where seq > 8")
    move_the_head_back(store, 8)


def delete_the_last_row(store: MetadataStore, lake: Lakehouse) -> None:
    """The head's own row deleted, the head moved back to the row before it."""
    sql(store, "delete from audit_log where seq = :seq", seq=CHAIN_ROWS)
    move_the_head_back(store, CHAIN_ROWS - 1)


def delete_the_head(store: MetadataStore, lake: Lakehouse) -> None:
    sql(store, "delete from audit_chain_head where id = 1")


def delete_the_published_copy(store: MetadataStore, lake: Lakehouse) -> None:
    shutil.rmtree(Path(lake.uri(AUDIT_TABLE)))


def cut_the_published_copy_back(store: MetadataStore, lake: Lakehouse) -> None:
    """The copy overwritten with its rows 1-7 only."""
    kept = lake.read(AUDIT_TABLE).filter(pc.field("seq") <= 7)
    lake.overwrite(AUDIT_TABLE, kept)


@dataclass(frozen=True)
class Tampering:
    """A named damage and the finding it must produce: its kind, first row and a phrase."""

    name: str
    tamper: Callable[[MetadataStore, Lakehouse], None]
    kind: str
    seq: int | None
    says: str

    def found_in(self, report: VerifyReport) -> bool:
        """Whether `report` holds this tampering's finding."""
        return any(
            (finding.kind, finding.seq) == (self.kind, self.seq) and self.says in finding.message
            for finding in report.findings
        )


TAMPERINGS = [
    Tampering(
        "edit a row",
        edit_a_row,
        "edited",
        4,
        "row 4's content no longer matches its hash",
    ),
    Tampering(
        "delete a row",
        delete_a_row,
        "deleted",
        5,
        "row 5 is missing: the chain goes from row 4 straight to row 6",
    ),
    Tampering(
        "swap two rows",
        swap_two_rows,
        "reordered",
        4,
        "row 4 holds the entry appended as row 6",
    ),
    Tampering(
        "insert a row",
        insert_a_row,
        "inserted",
        5,
        "row 6 holds the entry appended as row 5",
    ),
    Tampering(
        "truncate the tail",
        truncate_the_tail,
        "truncated",
        9,
        "the published copy holds rows up to 10, but the chain ends at row 8",
    ),
    Tampering(
        "delete the last row",
        delete_the_last_row,
        "truncated",
        10,
        "the published copy holds rows up to 10, but the chain ends at row 9",
    ),
    Tampering(
        "delete the head",
        delete_the_head,
        "missing_head",
        None,
        "the chain's head row (`audit_chain_head` id 1) is missing",
    ),
    Tampering(
        "delete the published copy",
        delete_the_published_copy,
        "missing_copy",
        1,
        "`platform.gold.audit_log` is gone, but the chain was published to it up to row 10",
    ),
    Tampering(
        "cut the published copy back",
        cut_the_published_copy_back,
        "rewritten",
        8,
        "row 8 differs from its published copy: the published copy no longer holds it",
    ),
]
