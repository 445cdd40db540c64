"""The hash-chained audit log in the metadata store.

Each row holds the SHA-256 of its own content and the hash of the row before it, so an edited,
deleted or reordered row breaks the chain at that row. The head row (`audit_chain_head`) holds the
last sequence number and hash: appenders lock it first, so entries from several processes form one
chain and never fork, and a truncated tail no longer reaches the head.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.decorators import retry

GENESIS_HASH = "0" * 64


class AuditRecord(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    actor_kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))
    method: Mapped[str | None] = mapped_column(String(10), nullable=True)
    route: Mapped[str | None] = mapped_column(String(300), nullable=True)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    table_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    row_count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    pii: Mapped[bool] = mapped_column(Boolean)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ChainHeadRecord(Base):
    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class AuditEntry:
    """Something that happened: who did what, to which table, with what result.

    `action` is dotted: `auth.login`, `data.read`, `admin.users.create`, `keys.create`...
    `detail` must never hold a secret (a password, a key, a token).
    """

    actor: str
    actor_kind: str
    action: str
    outcome: str = "success"
    method: str | None = None
    route: str | None = None
    status: int | None = None
    table_name: str | None = None
    row_count: int | None = None
    pii: bool = False
    request_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class AuditRow:
    """An entry as stored: its place in the chain and the hashes that bind it there."""

    seq: int
    entry: AuditEntry
    prev_hash: str
    hash: str


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def content_hash(seq: int, entry: AuditEntry, prev_hash: str) -> str:
    """SHA-256 of the entry's canonical JSON, its sequence number and the previous hash."""
    content = {
        **asdict(entry),
        "recorded_at": utc(entry.recorded_at).isoformat(timespec="microseconds"),
        "seq": seq,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def entry_of(record: AuditRecord) -> AuditEntry:
    return AuditEntry(
        actor=record.actor,
        actor_kind=record.actor_kind,
        action=record.action,
        outcome=record.outcome,
        method=record.method,
        route=record.route,
        status=record.status,
        table_name=record.table_name,
        row_count=record.row_count,
        pii=record.pii,
        request_id=record.request_id,
        detail=orjson.loads(record.detail),
        recorded_at=utc(record.recorded_at),
    )


class AuditLog:
    """Appends entries to the chain and reads them back."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    @retry(attempts=8)
    def append(self, entries: Sequence[AuditEntry]) -> list[AuditRow]:
        """Append `entries` in order, in one transaction; returns them as chained rows."""
        if not entries:
            return []
        rows = []
        with self.store.session() as session:
            # Writing the head first takes its lock (a row lock on PostgreSQL, the write lock on
            # SQLite) before anything is read, so concurrent appenders queue here.
            session.execute(
                update(ChainHeadRecord)
                .where(ChainHeadRecord.id == 1)
                .values(seq=ChainHeadRecord.seq)
            )
            seq, prev_hash = session.execute(
                select(ChainHeadRecord.seq, ChainHeadRecord.hash).where(ChainHeadRecord.id == 1)
            ).one()
            for entry in entries:
                seq += 1
                digest = content_hash(seq, entry, prev_hash)
                session.add(_record(seq, entry, prev_hash, digest))
                rows.append(AuditRow(seq, entry, prev_hash, digest))
                prev_hash = digest
            session.execute(
                update(ChainHeadRecord)
                .where(ChainHeadRecord.id == 1)
                .values(seq=seq, hash=prev_hash)
            )
        return rows

    def head(self) -> tuple[int, str]:
        """(sequence, hash) of the last appended entry; (0, GENESIS_HASH) for an empty log."""
        with self.store.session() as session:
            seq, digest = session.execute(
                select(ChainHeadRecord.seq, ChainHeadRecord.hash).where(ChainHeadRecord.id == 1)
            ).one()
            return int(seq), str(digest)

    def rows(self, after: int = 0, limit: int = 1000) -> list[AuditRow]:
        """Rows with a sequence number above `after`, in chain order."""
        with self.store.session() as session:
            records = session.scalars(
                select(AuditRecord)
                .where(AuditRecord.seq > after)
                .order_by(AuditRecord.seq)
                .limit(limit)
            ).all()
            return [AuditRow(r.seq, entry_of(r), r.prev_hash, r.hash) for r in records]


def _record(seq: int, entry: AuditEntry, prev_hash: str, digest: str) -> AuditRecord:
    values = asdict(entry)
    values["detail"] = orjson.dumps(entry.detail, option=orjson.OPT_SORT_KEYS).decode()
    return AuditRecord(seq=seq, prev_hash=prev_hash, hash=digest, **values)
