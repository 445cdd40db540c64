"""Exports and their runs in the metadata store: what to export where, and which periods went."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.errors import ConflictError, NotFoundError, did_you_mean


class ExportRecord(Base):
    __tablename__ = "exports"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    sql: Mapped[str] = mapped_column(Text)
    tables: Mapped[dict[str, str]] = mapped_column(JSON)
    time_column: Mapped[str | None] = mapped_column(String(200), nullable=True)
    format: Mapped[str] = mapped_column(String(20))
    destination: Mapped[str] = mapped_column(Text)
    secret_env: Mapped[str | None] = mapped_column(String(200), nullable=True)
    period: Mapped[str] = mapped_column(String(10))
    include_pii: Mapped[bool] = mapped_column(Boolean)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExportRunRecord(Base):
    __tablename__ = "export_runs"

    export: Mapped[str] = mapped_column(String(100), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))  # done | failed | dead
    rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    location: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Export:
    """An export as kept: its checked SQL over `tables` (view -> full name), and where to."""

    name: str
    source: str
    sql: str
    tables: dict[str, str]
    time_column: str | None
    format: str
    destination: str
    secret_env: str | None
    period: str
    include_pii: bool
    starts_at: datetime
    created_by: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "time_column": self.time_column,
            "format": self.format,
            "destination": self.destination,
            "secret_env": self.secret_env,
            "period": self.period,
            "include_pii": self.include_pii,
            "starts_at": self.starts_at,
            "created_by": self.created_by,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class ExportRun:
    export: str
    period_start: datetime
    period_end: datetime
    status: str
    rows: int | None
    location: str | None
    attempts: int
    error: str | None
    finished_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class Exports:
    """Export definitions and their runs."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def create(self, export: Export) -> Export:
        with self.store.session() as session:
            if session.get(ExportRecord, export.name) is not None:
                raise ConflictError(
                    f"An export is already named `{export.name}`; choose another name, or "
                    f"DELETE /exports/{export.name} first."
                )
            session.add(ExportRecord(**export.__dict__))
        return export

    def all(self) -> list[Export]:
        with self.store.session() as session:
            records = session.scalars(select(ExportRecord).order_by(ExportRecord.name))
            return [_export(record) for record in records]

    def get(self, name: str) -> Export:
        with self.store.session() as session:
            record = session.get(ExportRecord, name)
            if record is None:
                names = list(session.scalars(select(ExportRecord.name)))
                raise NotFoundError(
                    f"No export `{name}`; GET /exports lists them.{did_you_mean(name, names)}"
                )
            return _export(record)

    def delete(self, name: str) -> None:
        self.get(name)
        with self.store.session() as session:
            record = session.get(ExportRecord, name)
            if record is not None:
                session.delete(record)

    def runs(self, name: str) -> "list[ExportRun]":
        """The export's runs, latest period first."""
        with self.store.session() as session:
            records = session.scalars(
                select(ExportRunRecord)
                .where(ExportRunRecord.export == name)
                .order_by(ExportRunRecord.period_start.desc())
            )
            return [_run(record) for record in records]

    def settled(self, name: str) -> set[datetime]:
        """The periods of the export that are over with: done, or dead."""
        with self.store.session() as session:
            starts = session.scalars(
                select(ExportRunRecord.period_start).where(
                    ExportRunRecord.export == name, ExportRunRecord.status.in_(("done", "dead"))
                )
            )
            return {_utc(start) for start in starts}

    def run_of(self, name: str, period_start: datetime) -> ExportRun | None:
        with self.store.session() as session:
            record = session.get(ExportRunRecord, (name, period_start))
            return None if record is None else _run(record)

    def record_run(self, run: ExportRun) -> None:
        with self.store.session() as session:
            session.merge(ExportRunRecord(**run.__dict__))


def _export(record: ExportRecord) -> Export:
    return Export(**{name: _utc(getattr(record, name)) for name in Export.__dataclass_fields__})


def _run(record: ExportRunRecord) -> ExportRun:
    return ExportRun(
        **{name: _utc(getattr(record, name)) for name in ExportRun.__dataclass_fields__}
    )


def _utc(value: Any) -> Any:
    """A time read back as UTC: SQLite keeps no zone, and every stored time is UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
