"""Per-account login lockout: `failures` failed logins for one account within `minutes`, from
whatever addresses, lock it for `minutes`; while locked, even the right password is refused.

The counts live in the metadata store, so every gateway process counts and refuses alike; the
per-address limit alone is no defence against guesses spread over many addresses.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Integer, String, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from dataplatform.core.bounds import as_utc
from dataplatform.core.connectors.db import Base, MetadataStore

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time in UTC (the clock a `LoginLockouts` uses unless given another)."""
    return datetime.now(UTC)


class LoginFailureRecord(Base):
    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class Lockout:
    """An account a failed login has just locked: after how many failures, and until when."""

    username: str
    failures: int
    locked_until: datetime


class LoginLockouts:
    """Counts failed logins per account and says whether, and for how long, one is locked."""

    def __init__(
        self, store: MetadataStore, failures: int, minutes: float, now: Clock = utc_now
    ) -> None:
        self.store = store
        self.failures = failures
        self.duration = timedelta(minutes=minutes)
        self.now = now

    def seconds_locked(self, username: str) -> int:
        """Whole seconds until `username` may log in again; 0 when it is not locked."""
        with self.store.session() as session:
            locked_until = session.scalar(
                select(LoginFailureRecord.locked_until).where(
                    LoginFailureRecord.username == username
                )
            )
        if locked_until is None:
            return 0
        return max(0, math.ceil((as_utc(locked_until) - self.now()).total_seconds()))

    def failed(self, username: str) -> Lockout | None:
        """Count a failed login for `username`; the `Lockout` when this very failure locked it."""
        try:
            return self._count_failure(username)
        except IntegrityError:  # another process counted the account's first failure meanwhile
            return self._count_failure(username)

    def succeeded(self, username: str) -> None:
        """Forget `username`'s failures: a right password ends the count."""
        with self.store.session() as session:
            session.execute(
                delete(LoginFailureRecord).where(LoginFailureRecord.username == username)
            )

    def _count_failure(self, username: str) -> Lockout | None:
        now = self.now()
        with self.store.session() as session:
            # The update comes first: it locks the row (PostgreSQL) or the database (SQLite), so
            # no other process counts between this count and the decision to lock.
            bumped = session.execute(
                update(LoginFailureRecord)
                .where(LoginFailureRecord.username == username)
                .values(failures=LoginFailureRecord.failures + 1)
            )
            if not bumped.rowcount:  # type: ignore[attr-defined]
                self._forget_expired(session, now)
                session.add(LoginFailureRecord(username=username, failures=1, first_failed_at=now))
                session.flush()
            record = session.get_one(LoginFailureRecord, username, populate_existing=True)
            if self._expired(record, now):  # the count or the lock is over: start a new count
                record.failures, record.first_failed_at, record.locked_until = 1, now, None
            if record.failures < self.failures or record.locked_until is not None:
                return None
            record.locked_until = now + self.duration
            return Lockout(username, record.failures, record.locked_until)

    def _expired(self, record: LoginFailureRecord, now: datetime) -> bool:
        if record.locked_until is not None:
            return as_utc(record.locked_until) <= now
        return as_utc(record.first_failed_at) + self.duration <= now

    def _forget_expired(self, session: Session, now: datetime) -> None:
        """Delete counts and locks that are over, so names guessed once do not pile up."""
        session.execute(
            delete(LoginFailureRecord).where(
                or_(
                    LoginFailureRecord.locked_until <= now,
                    (LoginFailureRecord.locked_until.is_(None))
                    & (LoginFailureRecord.first_failed_at <= now - self.duration),
                )
            )
        )
