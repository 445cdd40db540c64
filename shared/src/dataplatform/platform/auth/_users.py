"""Users: a name, an argon2 password hash and roles. Passwords are never stored or logged."""

import re
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import TTLCache
from sqlalchemy import JSON, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dataplatform.core.access import Principal
from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.errors import ConflictError, InvalidRequestError, NotFoundError
from dataplatform.platform.auth._roles import Roles

MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,62}$")


class UserRecord(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class User:
    username: str
    roles: tuple[str, ...]
    created_at: datetime
    created_by: str
    disabled_at: datetime | None
    last_login_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


def is_username(name: str) -> bool:
    """Whether `name` is a name a user could have (2-63 lower-case letters, digits, `._-`)."""
    return _USERNAME.match(name) is not None


def generate_password() -> str:
    """A random password of 24 URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(18)


class Users:
    """Creates users, checks passwords and turns an active user into a `Principal` (cached)."""

    def __init__(self, store: MetadataStore, roles: Roles, cache_seconds: float) -> None:
        self.store = store
        self.roles = roles
        self._hasher = PasswordHasher()
        # Checked against when the user does not exist, so a wrong name costs as long as a
        # wrong password and login timing does not tell which names exist.
        self._absent_user_hash = self._hasher.hash(secrets.token_urlsafe(18))
        self._roles_of: TTLCache[str, tuple[str, ...] | None] = TTLCache(10_000, cache_seconds)
        self._lock = threading.Lock()

    def create(self, username: str, password: str, roles: Sequence[str], created_by: str) -> User:
        if not is_username(username):
            raise InvalidRequestError(
                f"User name `{username}` must be 2-63 lower-case letters, digits, `.`, `_` or `-`, "
                "starting with a letter.",
                "username",
            )
        _check_password(password)
        record = UserRecord(
            username=username,
            password_hash=self._hasher.hash(password),
            roles=list(self.roles.require_known(roles)),
            created_at=datetime.now(UTC),
            created_by=created_by,
        )
        with self.store.session() as session:
            if session.scalar(select(UserRecord.id).where(UserRecord.username == username)):
                raise ConflictError(f"A user named `{username}` already exists.")
            session.add(record)
        return _to_user(record)

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with this name and password, or None (same cost either way)."""
        with self.store.session() as session:
            record = session.scalar(select(UserRecord).where(UserRecord.username == username))
            stored = record.password_hash if record is not None else self._absent_user_hash
            try:
                self._hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return None
            if record is None or record.disabled_at is not None:
                return None
            if self._hasher.check_needs_rehash(record.password_hash):
                record.password_hash = self._hasher.hash(password)
            record.last_login_at = datetime.now(UTC)
            return _to_user(record)

    def get(self, username: str) -> User:
        with self.store.session() as session:
            return _to_user(_named(session, username))

    def list(self) -> list[User]:
        with self.store.session() as session:
            records = session.scalars(select(UserRecord).order_by(UserRecord.username))
            return [_to_user(record) for record in records]

    def update(
        self,
        username: str,
        *,
        roles: Sequence[str] | None = None,
        password: str | None = None,
        disabled: bool | None = None,
    ) -> User:
        """Change a user's roles, password or state; the change applies within the cache time."""
        checked_roles = self.roles.require_known(roles) if roles is not None else None
        if password is not None:
            _check_password(password)
        with self.store.session() as session:
            record = _named(session, username)
            if checked_roles is not None:
                record.roles = list(checked_roles)
            if password is not None:
                record.password_hash = self._hasher.hash(password)
            if disabled is not None:
                record.disabled_at = (record.disabled_at or datetime.now(UTC)) if disabled else None
            user = _to_user(record)
        with self._lock:
            self._roles_of.pop(username, None)
        return user

    def cached(self, username: str) -> Principal | None:
        """The caller `username` if the cache knows the user; KeyError when a lookup is needed."""
        with self._lock:
            roles = self._roles_of[username]
        if roles is None:
            return None
        return Principal(username, "user", frozenset(roles), self.roles.cached_permissions(roles))

    def principal(self, username: str) -> Principal | None:
        """The active user `username` as a caller, or None if missing or disabled."""
        with self.store.session() as session:
            record = session.scalar(select(UserRecord).where(UserRecord.username == username))
            roles = tuple(record.roles) if record and record.disabled_at is None else None
        with self._lock:
            self._roles_of[username] = roles
        return self._principal(username, roles)

    def _principal(self, username: str, roles: tuple[str, ...] | None) -> Principal | None:
        if roles is None:
            return None
        return Principal(username, "user", frozenset(roles), self.roles.permissions_of(roles))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequestError(
            f"`password` must have at least {MIN_PASSWORD_LENGTH} characters.", "password"
        )


def _named(session: Session, username: str) -> UserRecord:
    record = session.scalar(select(UserRecord).where(UserRecord.username == username))
    if record is None:
        raise NotFoundError(f"No user `{username}`.")
    return record


def _to_user(record: UserRecord) -> User:
    return User(
        record.username,
        tuple(record.roles),
        record.created_at,
        record.created_by,
        record.disabled_at,
        record.last_login_at,
    )
