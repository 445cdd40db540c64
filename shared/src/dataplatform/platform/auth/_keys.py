"""API keys: for services and scripts. Shown once, stored as SHA-256, tied to roles, expiring.

A key is 32 random bytes, so a fast hash is enough (no dictionary can reach it); the stored
prefix lets people tell their keys apart without the secret.
"""

import hashlib
import re
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cachetools import TTLCache
from sqlalchemy import JSON, DateTime, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from dataplatform.core.access import Principal
from dataplatform.core.bounds import MAX_LIFETIME_DAYS
from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.errors import ConflictError, InvalidRequestError, NotFoundError
from dataplatform.platform.auth._roles import Roles

KEY_PREFIX = "dpk_"
_SHOWN_PREFIX_LENGTH = len(KEY_PREFIX) + 8
_KEY_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,99}$")
LAST_USED_RESOLUTION = timedelta(minutes=10)


class ApiKeyRecord(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class ApiKey:
    name: str
    key_prefix: str
    roles: tuple[str, ...]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX)


class ApiKeys:
    """Creates, lists and revokes keys; resolves a presented key to its caller (cached briefly)."""

    def __init__(self, store: MetadataStore, roles: Roles, cache_seconds: float) -> None:
        self.store = store
        self.roles = roles
        self._cache: TTLCache[str, ApiKey | None] = TTLCache(10_000, cache_seconds)
        self._lock = threading.Lock()

    def create(
        self, name: str, roles: Sequence[str], created_by: str, expires_in_days: int | None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret; the secret is returned here and never again."""
        if not _KEY_NAME.match(name):
            raise InvalidRequestError(
                f"Key name `{name}` must be 2-100 lower-case letters, digits, `.`, `_` or `-`.",
                "name",
            )
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
            raise InvalidRequestError(
                f"`expires_in_days` must be from 1 to {MAX_LIFETIME_DAYS}, not {expires_in_days}.",
                "expires_in_days",
            )
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        record = ApiKeyRecord(
            name=name,
            key_prefix=secret[:_SHOWN_PREFIX_LENGTH],
            key_hash=hash_key(secret),
            roles=list(self.roles.require_known(roles)),
            created_at=now,
            created_by=created_by,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        with self.store.session() as session:
            if session.scalar(select(ApiKeyRecord.id).where(ApiKeyRecord.name == name)):
                raise ConflictError(f"An API key named `{name}` already exists.")
            session.add(record)
        return _to_key(record), secret

    def list(self) -> list[ApiKey]:
        with self.store.session() as session:
            records = session.scalars(select(ApiKeyRecord).order_by(ApiKeyRecord.name))
            return [_to_key(record) for record in records]

    def get(self, name: str) -> ApiKey:
        with self.store.session() as session:
            return _to_key(_named(session, name))

    def revoke(self, name: str) -> ApiKey:
        """Stop the key; other processes stop accepting it within the cache time."""
        with self.store.session() as session:
            record = _named(session, name)
            record.revoked_at = record.revoked_at or datetime.now(UTC)
            key = _to_key(record)
        with self._lock:
            self._cache.clear()
        return key

    def cached(self, secret: str) -> Principal | None:
        """The caller for `secret` if the cache knows it; KeyError when a lookup is needed."""
        with self._lock:
            key = self._cache[hash_key(secret)]
        if key is None or not key.usable(datetime.now(UTC)):
            return None
        return Principal(
            f"key:{key.name}",
            "api_key",
            frozenset(key.roles),
            self.roles.cached_permissions(key.roles),
        )

    def principal(self, secret: str) -> Principal | None:
        """The caller holding `secret`, or None for an unknown, revoked or expired key."""
        digest = hash_key(secret)
        with self.store.session() as session:
            record = session.scalar(select(ApiKeyRecord).where(ApiKeyRecord.key_hash == digest))
            key = _to_key(record) if record is not None else None
            now = datetime.now(UTC)
            if key is not None and key.usable(now) and _use_is_news(key, now):
                session.execute(
                    update(ApiKeyRecord)
                    .where(ApiKeyRecord.key_hash == digest)
                    .values(last_used_at=now)
                )
        with self._lock:
            self._cache[digest] = key
        return self._principal(key)

    def _principal(self, key: ApiKey | None) -> Principal | None:
        if key is None or not key.usable(datetime.now(UTC)):
            return None
        return Principal(
            f"key:{key.name}", "api_key", frozenset(key.roles), self.roles.permissions_of(key.roles)
        )


def _use_is_news(key: ApiKey, now: datetime) -> bool:
    """Whether to write `last_used_at`: a write (and its fsync) on every lookup would stall the
    requests waiting for it, and a day-level answer ("used lately?") needs no more than this."""
    return key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION


def _named(session: Session, name: str) -> ApiKeyRecord:
    record = session.scalar(select(ApiKeyRecord).where(ApiKeyRecord.name == name))
    if record is None:
        raise NotFoundError(f"No API key named `{name}`.")
    return record


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _to_key(record: ApiKeyRecord) -> ApiKey:
    return ApiKey(
        record.name,
        record.key_prefix,
        tuple(record.roles),
        _utc(record.created_at),  # type: ignore[arg-type]
        record.created_by,
        _utc(record.expires_at),
        _utc(record.revoked_at),
        _utc(record.last_used_at),
    )
