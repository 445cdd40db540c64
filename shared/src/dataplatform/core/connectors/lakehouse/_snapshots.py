"""Platform snapshots: the version of every table recorded under one label, restorable together."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.connectors.lakehouse._tables import Lakehouse
from dataplatform.core.errors import NotFoundError, TerminalError


class SnapshotRecord(Base):
    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200), unique=True)
    lake_root: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tables: Mapped[list["SnapshotTable"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class SnapshotTable(Base):
    __tablename__ = "snapshot_tables"

    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    table_name: Mapped[str] = mapped_column(String(300), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True)
class Snapshot:
    label: str
    created_at: datetime
    versions: dict[str, int]


@dataclass(frozen=True)
class RestoreResult:
    """Tables brought back, tables already at their snapshot version, and tables made since."""

    restored: dict[str, int] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    not_in_snapshot: list[str] = field(default_factory=list)


class Snapshots:
    """Create, list and restore platform snapshots of one lake, recorded in the metadata store."""

    def __init__(self, lake: Lakehouse, store: MetadataStore) -> None:
        self.lake = lake
        self.store = store

    def create(self, label: str) -> Snapshot:
        """Record the current version of every table under `label`."""
        versions = {str(name): self.lake.version(name) for name in self.lake.tables()}
        record = SnapshotRecord(
            label=label,
            lake_root=self.lake.root,
            created_at=datetime.now(UTC),
            tables=[SnapshotTable(table_name=n, version=v) for n, v in versions.items()],
        )
        try:
            with self.store.session() as session:
                session.add(record)
        except IntegrityError:
            raise TerminalError(
                f"A snapshot labelled `{label}` already exists; choose another label."
            ) from None
        return Snapshot(label, record.created_at, versions)

    def list(self) -> list[Snapshot]:
        """Snapshots of this lake, oldest first."""
        with self.store.session() as session:
            records = session.scalars(
                select(SnapshotRecord)
                .where(SnapshotRecord.lake_root == self.lake.root)
                .order_by(SnapshotRecord.created_at)
            ).all()
            return [_to_snapshot(record) for record in records]

    def get(self, label: str) -> Snapshot:
        with self.store.session() as session:
            record = session.scalar(select(SnapshotRecord).where(SnapshotRecord.label == label))
            if record is None:
                raise NotFoundError(
                    f"No snapshot labelled `{label}`; `dataplatform snapshot list` shows them."
                )
            if record.lake_root != self.lake.root:
                raise TerminalError(
                    f"Snapshot `{label}` was taken of lake `{record.lake_root}`, not `{self.lake.root}`."
                )
            return _to_snapshot(record)

    def restore(self, label: str) -> RestoreResult:
        """Bring every table recorded in `label` back to its recorded version.

        Tables created after the snapshot are left as they are and listed in the result: a
        restore never deletes a table.
        """
        snapshot = self.get(label)
        result = RestoreResult()
        for name, version in snapshot.versions.items():
            if self.lake.version(name) == version:
                result.unchanged.append(name)
            else:
                self.lake.restore(name, version)
                result.restored[name] = version
        current = {str(name) for name in self.lake.tables()}
        result.not_in_snapshot.extend(sorted(current - snapshot.versions.keys()))
        return result

    def protected_versions(self, name: str) -> set[int]:
        """Versions of table `name` that snapshots refer to, which vacuum must keep."""
        return {s.versions[name] for s in self.list() if name in s.versions}


def _to_snapshot(record: SnapshotRecord) -> Snapshot:
    return Snapshot(
        record.label, record.created_at, {t.table_name: t.version for t in record.tables}
    )
