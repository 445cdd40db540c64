"""Sources: an app, website or server allowed to send events, with its write key.

Write keys are public by design (they ship inside apps and web pages), so they identify a source
rather than authorise anything sensitive; still, only their SHA-256 is stored, a key is shown
once, and a revoked key stops working within the lookup cache's lifetime.
"""

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from cachetools import TTLCache
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    did_you_mean,
)
from dataplatform.core.product import discover_products

SourceKind = Literal["ios", "android", "web", "server"]
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)
_KEY_PREFIX_LENGTH = 8
# How long a key lookup is trusted; also the longest a revoked key may still be accepted.
LOOKUP_CACHE_SECONDS = 5.0


class SourceRecord(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    product: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    product: str
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(write_key: str) -> str:
    return hashlib.sha256(write_key.encode()).hexdigest()


class SourceRegistry:
    """Creates, lists and revokes sources; resolves write keys with a short-lived cache."""

    def __init__(self, store: MetadataStore, cache_seconds: float = LOOKUP_CACHE_SECONDS) -> None:
        self.store = store
        self._cache: TTLCache[str, Source | None] = TTLCache(maxsize=10_000, ttl=cache_seconds)
        self._cache_lock = threading.Lock()  # TTLCache is not thread-safe

    def create(self, name: str, kind: str, product: str) -> tuple[Source, str]:
        """A new source and its write key; the key is returned here and never again."""
        if kind not in SOURCE_KINDS:
            raise InvalidRequestError(
                f"Source kind `{kind}` is not one of {', '.join(SOURCE_KINDS)}.", "kind"
            )
        _check_product_accepts(product, kind)
        write_key = secrets.token_urlsafe(24)
        record = SourceRecord(
            name=name,
            kind=kind,
            product=product,
            key_hash=hash_key(write_key),
            key_prefix=write_key[:_KEY_PREFIX_LENGTH],
            created_at=datetime.now(UTC),
        )
        try:
            with self.store.session() as session:
                session.add(record)
        except IntegrityError:
            raise ConflictError(f"A source named `{name}` already exists.") from None
        return _to_source(record), write_key

    def list(self) -> list[Source]:
        with self.store.session() as session:
            records = session.scalars(select(SourceRecord).order_by(SourceRecord.name)).all()
            return [_to_source(record) for record in records]

    def revoke(self, name: str) -> Source:
        with self.store.session() as session:
            record = _named(session, name)
            if record.revoked_at is None:
                record.revoked_at = datetime.now(UTC)
            with self._cache_lock:
                self._cache.clear()
            return _to_source(record)

    def rotate(self, name: str) -> str:
        """Give source `name` a new write key (returned once); the old key stops working."""
        write_key = secrets.token_urlsafe(24)
        with self.store.session() as session:
            record = _named(session, name)
            record.key_hash = hash_key(write_key)
            record.key_prefix = write_key[:_KEY_PREFIX_LENGTH]
            record.revoked_at = None
        with self._cache_lock:
            self._cache.clear()
        return write_key

    def cached(self, write_key: str) -> Source | None:
        """What `lookup` answered for `write_key` within the cache's lifetime; KeyError if nothing.

        For callers on an event loop: a hit needs no thread, only a miss goes to the database.
        """
        with self._cache_lock:
            return self._cache[hash_key(write_key)]

    def lookup(self, write_key: str) -> Source | None:
        """The active source holding `write_key`, or None for an unknown or revoked key."""
        try:
            return self.cached(write_key)
        except KeyError:
            pass
        key_hash = hash_key(write_key)
        with self.store.session() as session:
            record = session.scalar(select(SourceRecord).where(SourceRecord.key_hash == key_hash))
            source = (
                _to_source(record) if record is not None and record.revoked_at is None else None
            )
        with self._cache_lock:
            self._cache[key_hash] = source
        return source


def _named(session: Session, name: str) -> SourceRecord:
    record = session.scalar(select(SourceRecord).where(SourceRecord.name == name))
    if record is None:
        raise NotFoundError(f"No source named `{name}`; `dataplatform sources list` shows them.")
    return record


def _check_product_accepts(product: str, kind: str) -> None:
    products = {declared.name: declared for declared in discover_products()}
    if product not in products:
        raise InvalidRequestError(
            f"No product `{product}` is installed; choose one of {', '.join(products)}."
            f"{did_you_mean(product, products)}",
            "product",
        )
    if not any(kind in stream.source_kinds for stream in products[product].streams):
        accepting = [
            name
            for name, declared in products.items()
            if any(kind in stream.source_kinds for stream in declared.streams)
        ]
        raise InvalidRequestError(
            f"Product `{product}` accepts no `{kind}` events; products that do: "
            f"{', '.join(accepting) or 'none'}.",
            "kind",
        )


def _to_source(record: SourceRecord) -> Source:
    return Source(
        record.name,
        record.kind,
        record.product,
        record.key_prefix,
        record.created_at,
        record.revoked_at,
    )
