"""Saved queries: SQL kept under a name in the metadata store, to run again or export."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.errors import ConflictError, NotFoundError, did_you_mean


class SavedQueryRecord(Base):
    __tablename__ = "saved_queries"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    sql: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    sql: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "sql": self.sql,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class SavedQueries:
    """Saved queries in the metadata store, by name."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def list(self) -> list[SavedQuery]:
        with self.store.session() as session:
            records = session.scalars(select(SavedQueryRecord).order_by(SavedQueryRecord.name))
            return [_saved(record) for record in records]

    def get(self, name: str) -> SavedQuery:
        with self.store.session() as session:
            record = session.get(SavedQueryRecord, name)
            if record is None:
                names = list(session.scalars(select(SavedQueryRecord.name)))
                raise NotFoundError(
                    f"No saved query `{name}`; GET /query/saved lists them."
                    f"{did_you_mean(name, names)}"
                )
            return _saved(record)

    def save(self, name: str, sql: str, description: str, by: str) -> SavedQuery:
        """Save a new query; a 409 when the name is taken (delete it first to replace it)."""
        now = datetime.now(UTC)
        with self.store.session() as session:
            if session.get(SavedQueryRecord, name) is not None:
                raise ConflictError(
                    f"A saved query is already named `{name}`; choose another name, or "
                    f"DELETE /query/saved/{name} first."
                )
            record = SavedQueryRecord(
                name=name,
                description=description,
                sql=sql,
                created_by=by,
                created_at=now,
                updated_at=now,
            )
            session.add(record)
            return _saved(record)

    def delete(self, name: str) -> None:
        self.get(name)  # the 404 names what exists
        with self.store.session() as session:
            record = session.get(SavedQueryRecord, name)
            if record is not None:
                session.delete(record)


def _saved(record: SavedQueryRecord) -> SavedQuery:
    return SavedQuery(
        record.name,
        record.description,
        record.sql,
        record.created_by,
        record.created_at,
        record.updated_at,
    )
