"""The hash-chained audit log in the metadata store.

Each row holds the SHA-256 of its own content and the hash of the row before it, so an edited,
deleted or reordered row breaks the chain at that row. The head row (`audit_chain_head` id 1) holds
the last sequence number and hash: appenders lock it first, so entries from several processes form
one chain and never fork, and a truncated tail no longer reaches the head. Once the chain has been
published to the lake, row id 2 of the same table holds the published head: the last row the lake
copy holds, so a copy deleted from the lake is noticed. `verify` walks the chain.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypedDict, Unpack

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    Select,
    String,
    Text,
    delete,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from dataplatform.core.bounds import as_utc
from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.decorators import retry
from dataplatform.core.errors import InvalidRequestError, TerminalError

GENESIS_HASH = "0" * 64
# The rows of `audit_chain_head`: the chain's own head, and the head last published to the lake.
# A second row instead of new columns: the published head is a head like the first, read and
# written the same way.
CHAIN_HEAD_ID = 1
PUBLISHED_HEAD_ID = 2
MAX_SEARCH_ROWS = 1000
# The longest value each text column holds; longer values are clipped (marked with `…`) before
# hashing, so a 10 kB user name in a failed login is recorded instead of failing the whole batch.
_COLUMN_LENGTHS = {
    "actor": 200,
    "actor_kind": 20,
    "action": 100,
    "outcome": 20,
    "method": 10,
    "route": 300,
    "table_name": 200,
    "request_id": 128,
}


class AuditRecord(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(_COLUMN_LENGTHS["actor"]))
    actor_kind: Mapped[str] = mapped_column(String(_COLUMN_LENGTHS["actor_kind"]))
    action: Mapped[str] = mapped_column(String(_COLUMN_LENGTHS["action"]))
    outcome: Mapped[str] = mapped_column(String(_COLUMN_LENGTHS["outcome"]))
    method: Mapped[str | None] = mapped_column(String(_COLUMN_LENGTHS["method"]), nullable=True)
    route: Mapped[str | None] = mapped_column(String(_COLUMN_LENGTHS["route"]), nullable=True)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    table_name: Mapped[str | None] = mapped_column(
        String(_COLUMN_LENGTHS["table_name"]), nullable=True
    )
    row_count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    pii: Mapped[bool] = mapped_column(Boolean)
    request_id: Mapped[str | None] = mapped_column(
        String(_COLUMN_LENGTHS["request_id"]), nullable=True
    )
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
    `outcome` is `success` or `failure`. `detail` must never hold a secret (a password, a key, a
    token) and must be JSON (orjson's types).
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


class AuditFilter(TypedDict, total=False):
    """What a search of the audit log asks for; every filter given must match (see `search`)."""

    actor: str | None
    action: str | None
    table: str | None
    outcome: str | None
    since: datetime | None
    until: datetime | None
    before: int | None


def filters_given(filters: AuditFilter) -> dict[str, str]:
    """The filters a search was given, as text: what the entry recording the search keeps."""
    return {name: str(value) for name, value in filters.items() if value is not None}


@dataclass(frozen=True)
class AuditPage:
    """One page of a search, newest first; pass `next_before` as `before` for the next page."""

    rows: list[AuditRow]
    next_before: int | None


def content_hash(seq: int, entry: AuditEntry, prev_hash: str) -> str:
    """SHA-256 of the entry's canonical JSON, its sequence number and the previous hash."""
    content = {
        **_fields(entry),
        "recorded_at": as_utc(entry.recorded_at).isoformat(timespec="microseconds"),
        "seq": seq,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _fields(entry: AuditEntry) -> dict[str, Any]:
    # `asdict` deep-copies `detail` for every entry, the costliest step of an append; nothing
    # here changes the values, so a shallow view is enough.
    return dict(vars(entry))


def detail_json(detail: dict[str, Any]) -> str:
    """The detail as stored: canonical JSON (sorted keys)."""
    return orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode()


def fitted(entry: AuditEntry) -> AuditEntry:
    """The entry as it will be stored: time in UTC, text clipped to its column's length."""
    clipped: dict[str, Any] = {
        name: _clip(value, limit)
        for name, limit in _COLUMN_LENGTHS.items()
        if isinstance(value := getattr(entry, name), str) and len(value) > limit
    }
    if not clipped and entry.recorded_at.tzinfo is UTC:
        return entry
    return replace(entry, recorded_at=as_utc(entry.recorded_at), **clipped)


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
        detail=_readable_detail(record.detail),
        recorded_at=as_utc(record.recorded_at),
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
                .where(ChainHeadRecord.id == CHAIN_HEAD_ID)
                .values(seq=ChainHeadRecord.seq)
            )
            seq, prev_hash = _required_head(session)
            for entry in map(fitted, entries):
                seq += 1
                digest = content_hash(seq, entry, prev_hash)
                rows.append(AuditRow(seq, entry, prev_hash, digest))
                prev_hash = digest
            _insert(session.connection(), rows)
            session.execute(
                update(ChainHeadRecord)
                .where(ChainHeadRecord.id == CHAIN_HEAD_ID)
                .values(seq=seq, hash=prev_hash)
            )
        return rows

    def holds(self, entry: AuditEntry) -> bool:
        """Whether `entry` was appended (the same time, actor, action and request id)."""
        stored = fitted(entry)
        with self.store.session() as session:
            found = session.scalar(
                select(AuditRecord.seq).where(
                    AuditRecord.recorded_at == stored.recorded_at,
                    AuditRecord.actor == stored.actor,
                    AuditRecord.action == stored.action,
                    AuditRecord.request_id.is_(None)
                    if stored.request_id is None
                    else AuditRecord.request_id == stored.request_id,
                )
            )
            return found is not None

    def head(self) -> tuple[int, str]:
        """(sequence, hash) of the last appended entry; (0, GENESIS_HASH) for an empty log.

        Refuses, saying how to repair it, when the head row was deleted."""
        with self.store.session() as session:
            return _required_head(session)

    def find_head(self) -> tuple[int, str] | None:
        """The chain's head, or None when its row was deleted."""
        with self.store.session() as session:
            return _head(session, CHAIN_HEAD_ID)

    def published_head(self) -> tuple[int, str] | None:
        """(sequence, hash) of the last row published to the lake, or None if none was."""
        with self.store.session() as session:
            return _head(session, PUBLISHED_HEAD_ID)

    def record_published(self, seq: int, digest: str) -> None:
        """Remember that the lake copy holds the chain up to row `seq` (hashing to `digest`).

        Only ever moves forward: a publisher that read an older state cannot move it back."""
        try:
            self._move_published(seq, digest)
        except IntegrityError:
            # Another publisher recorded the first publication meanwhile; move it forward.
            self._move_published(seq, digest)

    def _move_published(self, seq: int, digest: str) -> None:
        with self.store.session() as session:
            published = session.get(ChainHeadRecord, PUBLISHED_HEAD_ID, with_for_update=True)
            if published is None:
                session.add(ChainHeadRecord(id=PUBLISHED_HEAD_ID, seq=seq, hash=digest))
            elif published.seq < seq:
                published.seq, published.hash = seq, digest

    def forget_published(self) -> None:
        """Forget every publication, so the chain can be published afresh to a new copy."""
        with self.store.session() as session:
            session.execute(delete(ChainHeadRecord).where(ChainHeadRecord.id == PUBLISHED_HEAD_ID))

    def rows(self, after: int = 0, limit: int = 1000) -> list[AuditRow]:
        """Rows with a sequence number above `after`, in chain order."""
        return [_row(record) for record in records_after(self.store, after, limit)]

    def search(self, *, limit: int = 100, **filters: Unpack[AuditFilter]) -> AuditPage:
        """Entries matching every filter given, newest first, at most `limit` of them.

        `action` matches itself and the actions under it (`admin` matches `admin.users.create`);
        `since` is inclusive, `until` exclusive (UTC when they carry no zone); `before` (a
        sequence number) pages back.
        Refuses a bad filter with a 422 naming it.
        """
        query = _search_query(limit, **filters)
        with self.store.session() as session:
            records = session.scalars(query.limit(limit + 1)).all()
        rows = [_row(record) for record in records[:limit]]
        return AuditPage(rows, rows[-1].seq if len(records) > limit else None)


def _search_query(
    limit: int,
    *,
    actor: str | None = None,
    action: str | None = None,
    table: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
) -> Select[Any]:
    if not 1 <= limit <= MAX_SEARCH_ROWS:
        raise InvalidRequestError(
            f"`limit` = {limit} must be between 1 and {MAX_SEARCH_ROWS}.", field="limit"
        )
    if before is not None and before < 1:
        raise InvalidRequestError(
            f"`before` = {before} must be a sequence number (1 or more); pass the previous "
            "page's `next_before`.",
            field="before",
        )
    if outcome is not None and outcome not in ("success", "failure"):
        raise InvalidRequestError(
            f"`outcome` = `{outcome}` must be `success` or `failure`.", field="outcome"
        )
    texts = {"actor": actor, "action": action, "table": table}
    for name, value in texts.items():
        longest = _COLUMN_LENGTHS["table_name" if name == "table" else name]
        if value is not None and not 1 <= len(value) <= longest:
            raise InvalidRequestError(
                f"`{name}` must be 1 to {longest} characters, not {len(value)}.", field=name
            )
    if since is not None and until is not None and as_utc(since) >= as_utc(until):
        raise InvalidRequestError(
            f"`until` ({as_utc(until).isoformat()}) must be after `since` ({as_utc(since).isoformat()}).",
            field="until",
        )
    query = select(AuditRecord).order_by(AuditRecord.seq.desc())
    if actor is not None:
        query = query.where(AuditRecord.actor == actor)
    if action is not None:
        query = query.where(
            (AuditRecord.action == action)
            | AuditRecord.action.startswith(f"{action}.", autoescape=True)
        )
    if table is not None:
        query = query.where(AuditRecord.table_name == table)
    if outcome is not None:
        query = query.where(AuditRecord.outcome == outcome)
    if since is not None:
        query = query.where(AuditRecord.recorded_at >= as_utc(since))
    if until is not None:
        query = query.where(AuditRecord.recorded_at < as_utc(until))
    if before is not None:
        query = query.where(AuditRecord.seq < before)
    return query


def records_after(store: MetadataStore, after: int, limit: int) -> Sequence[AuditRecord]:
    """The stored rows with a sequence number above `after`, in chain order, at most `limit`."""
    with store.session() as session:
        return session.scalars(
            select(AuditRecord)
            .where(AuditRecord.seq > after)
            .order_by(AuditRecord.seq)
            .limit(limit)
        ).all()


def _head(session: Session, head_id: int) -> tuple[int, str] | None:
    found = session.execute(
        select(ChainHeadRecord.seq, ChainHeadRecord.hash).where(ChainHeadRecord.id == head_id)
    ).first()
    return None if found is None else (int(found.seq), str(found.hash))


def _required_head(session: Session) -> tuple[int, str]:
    head = _head(session, CHAIN_HEAD_ID)
    if head is None:
        raise TerminalError(
            "The audit chain's head row (`audit_chain_head` id 1) is missing, so nothing can be "
            "appended to the chain. Run `dataplatform audit verify`: it says where the chain's "
            "rows end and how to restore the head (or restore the metadata store from a backup)."
        )
    return head


def _clip(value: str, limit: int) -> str:
    return value[: limit - 1] + "…"


def _readable_detail(stored: str) -> dict[str, Any]:
    """The stored detail; a value edited into something that is not a JSON object is shown as
    it is (`verify` reports the row)."""
    try:
        detail = orjson.loads(stored)
    except orjson.JSONDecodeError:
        return {"unreadable_detail": stored}
    return detail if isinstance(detail, dict) else {"unreadable_detail": stored}


def _row(record: AuditRecord) -> AuditRow:
    return AuditRow(record.seq, entry_of(record), record.prev_hash, record.hash)


def _insert(connection: Connection, rows: Sequence[AuditRow]) -> None:
    """One executemany of plain tuples through the driver.

    The writer thread shares the interpreter lock with the requests it records, so its Python
    work per entry is kept small: SQLAlchemy's per-row parameter handling would cost several
    times the hashing. Only the column types' own converters run (dates and booleans on SQLite).
    """
    columns = list(AuditRecord.__table__.columns)
    dialect = connection.dialect
    converters = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO audit_log ({', '.join(column.name for column in columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    parameters = []
    for row in rows:
        values = {
            **_fields(row.entry),
            "detail": detail_json(row.entry.detail),
            "seq": row.seq,
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }
        parameters.append(
            tuple(
                convert(values[column.name]) if convert else values[column.name]
                for column, convert in zip(columns, converters, strict=True)
            )
        )
    connection.exec_driver_sql(statement, parameters)
