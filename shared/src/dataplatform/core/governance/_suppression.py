"""The suppression list: the people erased, as SHA-256 hashes of their ids, in the metadata
store. Nothing may write them back; the raw ids are never kept."""

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import DateTime, String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.decorators import retry
from dataplatform.core.errors import CommitConflictError


class ErasedIdRecord(Base):
    __tablename__ = "erased_ids"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64))
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def id_hash(value: str) -> str:
    """What the list keeps of an id: its SHA-256, hex."""
    return hashlib.sha256(value.encode()).hexdigest()


class SuppressionList:
    """The hashes of erased ids, shared by every process through the metadata store."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store
        self._hashes: frozenset[str] = frozenset()

    def add(self, ids: Iterable[str], request_id: str, now: datetime | None = None) -> int:
        """Put `ids` on the list for erasure `request_id`; how many were not on it yet."""
        return self.add_hashes({id_hash(value) for value in ids}, request_id, now)

    @retry(attempts=3)
    def add_hashes(
        self, hashes: Iterable[str], request_id: str, now: datetime | None = None
    ) -> int:
        """Put ids already hashed on the list (a restore replaying the erasures a backup
        location kept); how many were not on it yet."""
        new = sorted(set(hashes) - self.listed())
        erased_at = now or datetime.now(UTC)
        try:
            with self.store.session() as session:
                session.add_all(
                    ErasedIdRecord(id_hash=digest, request_id=request_id, erased_at=erased_at)
                    for digest in new
                )
        except IntegrityError as exc:  # another erasure listed one of them meanwhile: look again
            raise CommitConflictError("an erased id was listed concurrently") from exc
        return len(new)

    def listed(self) -> frozenset[str]:
        """Every hash on the list.

        Every commit asks, so it costs one count: the list only grows (nothing is ever taken off
        it), and the hashes are read again only when the count says it grew.
        """
        with self.store.session() as session:
            count = session.scalar(select(func.count()).select_from(ErasedIdRecord)) or 0
            if count != len(self._hashes):
                self._hashes = frozenset(session.scalars(select(ErasedIdRecord.id_hash)))
        return self._hashes
