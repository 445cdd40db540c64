"""Run records and lineage edges in the metadata store.

A run record is written before a model's output is committed (status `running`, with the input
versions it will read) and completed after. The Delta `txn` on the output is the truth about
whether the commit happened: a record left `running` by a crash is settled against it.

A run whose batch is empty commits nothing, so no txn knows of it: its record alone (succeeded,
no output version, no error) says it is done. It is written in one transaction, so a crash
leaves it `running`, settled as failed, and the same empty run is simply made again.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    delete,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.processing._lineage import ColumnEdge

RunStatus = Literal["running", "succeeded", "failed"]
RunMode = Literal["incremental", "full", "backfill"]


class RunRecord(Base):
    __tablename__ = "model_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(20))
    engine: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    rows_in: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rows_out: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rows_quarantined: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # {table: [after_version, up_to_version]}: rows committed after the first, up to the second.
    input_versions: Mapped[dict[str, list[int]]] = mapped_column(JSON)
    # None on a succeeded run: it committed nothing (with no error), or a crash left the version
    # unknown (its `error` says it was settled from the table's txn).
    output_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class LineageEdgeRecord(Base):
    __tablename__ = "lineage_edges"
    # Ids rise and are never reused (SQLite reuses deleted ones without this): readers such as
    # the platform's lineage publisher follow them.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    source_table: Mapped[str] = mapped_column(String(200))
    source_column: Mapped[str] = mapped_column(String(200))
    target_table: Mapped[str] = mapped_column(String(200))
    target_column: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LineageFingerprintRecord(Base):
    __tablename__ = "lineage_fingerprints"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    # sha256 of what the model's recorded lineage was computed from: its SQL and input schemas.
    fingerprint: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class RecordedEdge:
    """A lineage edge as stored: its id (rising, never reused) and when its model recorded it."""

    id: int
    model: str
    edge: ColumnEdge
    recorded_at: datetime


@dataclass(frozen=True)
class Run:
    """One run of one model, as recorded."""

    id: int
    model: str
    sequence: int
    mode: str
    engine: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: float | None
    rows_in: int | None
    rows_out: int | None
    rows_quarantined: int | None
    input_versions: dict[str, list[int]]
    output_version: int | None
    checks: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def committed_nothing(self) -> bool:
        """Whether it succeeded without a commit (nothing new): only this record says it ran."""
        return self.status == "succeeded" and self.output_version is None and self.error is None


class RunLog:
    """Reads and writes run records and lineage edges."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def start(
        self,
        model: str,
        sequence: int,
        mode: RunMode,
        engine: str,
        input_versions: dict[str, list[int]],
        window: tuple[datetime, datetime] | None = None,
    ) -> int:
        with self.store.session() as session:
            record = RunRecord(
                model=model,
                sequence=sequence,
                mode=mode,
                engine=engine,
                status="running",
                started_at=datetime.now(UTC),
                input_versions=input_versions,
                window_start=window[0] if window else None,
                window_end=window[1] if window else None,
                checks=[],
            )
            session.add(record)
            session.flush()
            return record.id

    def finish(self, run_id: int, status: RunStatus, **values: Any) -> None:
        with self.store.session() as session:
            record = session.get_one(RunRecord, run_id)
            finished = datetime.now(UTC)
            record.status = status
            record.finished_at = finished
            record.duration_ms = (finished - _utc(record.started_at)).total_seconds() * 1000
            for name, value in values.items():
                setattr(record, name, value)

    def settle_interrupted(self, model: str, committed_sequence: int) -> None:
        """Close runs a crash left `running`: committed if the output holds their txn, else failed."""
        with self.store.session() as session:
            stale = session.scalars(
                select(RunRecord).where(RunRecord.model == model, RunRecord.status == "running")
            ).all()
            for record in stale:
                committed = record.sequence <= committed_sequence
                record.status = "succeeded" if committed else "failed"
                record.finished_at = datetime.now(UTC)
                record.error = (
                    "interrupted after its commit; settled from the table's txn"
                    if committed
                    else "interrupted before its commit; nothing was published"
                )

    def committed(self, model: str, sequence: int) -> Run | None:
        """The succeeded run that made commit `sequence` of `model`."""
        with self.store.session() as session:
            record = session.scalars(
                select(RunRecord)
                .where(
                    RunRecord.model == model,
                    RunRecord.sequence == sequence,
                    RunRecord.status == "succeeded",
                )
                .order_by(RunRecord.id.desc())
                .limit(1)
            ).first()
            return _to_run(record) if record else None

    def read_up_to(self, model: str) -> dict[str, int]:
        """Each input of `model` -> the version its latest succeeded run read up to (empty
        before any run), whether or not that run committed anything."""
        latest = self.latest_succeeded(model)
        if latest is None:
            return {}
        return {table: int(versions[1]) for table, versions in latest.input_versions.items()}

    def latest_succeeded(self, model: str) -> Run | None:
        """The model's most recently started run that succeeded."""
        with self.store.session() as session:
            record = session.scalars(
                select(RunRecord)
                .where(RunRecord.model == model, RunRecord.status == "succeeded")
                .order_by(RunRecord.id.desc())
                .limit(1)
            ).first()
            return _to_run(record) if record else None

    def history(self, model: str | None = None, limit: int = 50) -> list[Run]:
        """Recent runs, newest first."""
        with self.store.session() as session:
            query = select(RunRecord).order_by(RunRecord.id.desc()).limit(limit)
            if model is not None:
                query = query.where(RunRecord.model == model)
            return [_to_run(record) for record in session.scalars(query)]

    def recent_output_rows(self, model: str, runs: int) -> list[int]:
        """rows_out of the model's last succeeded runs, newest first."""
        with self.store.session() as session:
            return list(
                session.scalars(
                    select(RunRecord.rows_out)
                    .where(
                        RunRecord.model == model,
                        RunRecord.status == "succeeded",
                        RunRecord.rows_out.is_not(None),
                    )
                    .order_by(RunRecord.id.desc())
                    .limit(runs)
                )
            )

    def lineage_fingerprint(self, model: str) -> str | None:
        """What the model's recorded lineage was computed from (see `replace_lineage`)."""
        with self.store.session() as session:
            record = session.get(LineageFingerprintRecord, model)
            return record.fingerprint if record is not None else None

    def replace_lineage(
        self, model: str, edges: Iterable[ColumnEdge], fingerprint: str | None = None
    ) -> None:
        """Make `edges` the model's recorded column lineage, computed from what `fingerprint`
        names.

        Edges equal to the recorded ones are left as they are (same ids, same time), so a runner
        starting again records nothing new.
        """
        edges = sorted(edges)
        now = datetime.now(UTC)
        if fingerprint is not None:
            with self.store.session() as session:
                session.merge(
                    LineageFingerprintRecord(model=model, fingerprint=fingerprint, recorded_at=now)
                )
        if self.lineage([model]) == edges:
            return
        with self.store.session() as session:
            if self.store.engine.dialect.name == "postgresql":
                # Ids come from a sequence: two writers could commit them out of order, and a
                # reader following ids would pass the lower one by. Writers take turns instead
                # (SQLite's single writer already does); plain reads are not blocked.
                session.execute(text("LOCK TABLE lineage_edges IN SHARE ROW EXCLUSIVE MODE"))
            session.execute(delete(LineageEdgeRecord).where(LineageEdgeRecord.model == model))
            session.add_all(
                LineageEdgeRecord(model=model, recorded_at=now, **_edge_fields(edge))
                for edge in edges
            )

    def runs_after(self, after_id: int, limit: int) -> list[Run]:
        """Up to `limit` runs with an id above `after_id`, in id order (finished or not)."""
        with self.store.session() as session:
            records = session.scalars(
                select(RunRecord).where(RunRecord.id > after_id).order_by(RunRecord.id).limit(limit)
            )
            return [_to_run(record) for record in records]

    def edges_after(self, after_id: int, limit: int) -> list[RecordedEdge]:
        """Up to `limit` recorded edges with an id above `after_id`, in id order."""
        with self.store.session() as session:
            records = session.scalars(
                select(LineageEdgeRecord)
                .where(LineageEdgeRecord.id > after_id)
                .order_by(LineageEdgeRecord.id)
                .limit(limit)
            )
            return [
                RecordedEdge(
                    r.id,
                    r.model,
                    ColumnEdge(r.source_table, r.source_column, r.target_table, r.target_column),
                    _utc(r.recorded_at),
                )
                for r in records
            ]

    def lineage(self, models: Sequence[str] | None = None) -> list[ColumnEdge]:
        """Recorded column edges, of every model or of `models`."""
        with self.store.session() as session:
            query = select(LineageEdgeRecord)
            if models is not None:
                query = query.where(LineageEdgeRecord.model.in_(models))
            return sorted(
                ColumnEdge(r.source_table, r.source_column, r.target_table, r.target_column)
                for r in session.scalars(query)
            )


def _edge_fields(edge: ColumnEdge) -> dict[str, str]:
    return {
        "source_table": edge.source_table,
        "source_column": edge.source_column,
        "target_table": edge.target_table,
        "target_column": edge.target_column,
    }


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite drops the zone


def _to_run(record: RunRecord) -> Run:
    return Run(
        id=record.id,
        model=record.model,
        sequence=record.sequence,
        mode=record.mode,
        engine=record.engine,
        status=record.status,
        started_at=_utc(record.started_at),
        finished_at=_utc(record.finished_at) if record.finished_at else None,
        duration_ms=record.duration_ms,
        rows_in=record.rows_in,
        rows_out=record.rows_out,
        rows_quarantined=record.rows_quarantined,
        input_versions=dict(record.input_versions),
        output_version=record.output_version,
        checks=list(record.checks),
        error=record.error,
    )
