"""Deployments: which version of a product ran where, in what state, and since when.

The orchestrator records a product `running` when it starts it, `stopped` when it stops cleanly and
`failed` when one of its processes keeps crashing; deploy tooling records its own steps through the
admin API. The platform itself (gateway, jobs) is recorded under the product name `platform`.
An admin asks for a product's processes to be restarted by recording `restart_requested` (the
console's button, `POST /admin/products/{name}/restart`); the orchestrator, which polls for
them, restarts them and records `running` with the request's number.
"""

import builtins
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import DateTime, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from dataplatform.core.bounds import as_utc
from dataplatform.core.config import ENVIRONMENTS
from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.errors import InvalidRequestError

DeploymentStatus = Literal[
    "started", "running", "succeeded", "failed", "stopped", "rolled_back", "restart_requested"
]
RESTART_REQUESTED: DeploymentStatus = "restart_requested"
STATUSES: tuple[str, ...] = get_args(DeploymentStatus)
PLATFORM = "platform"


class DeploymentRecord(Base):
    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(100))
    environment: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Deployment:
    id: int
    product: str
    version: str
    environment: str
    status: str
    detail: str
    recorded_by: str
    recorded_at: datetime


# Column widths of the `deployments` table: a longer value is refused, not cut.
_LIMITS = {"product": 100, "version": 100, "recorded_by": 200}


class Deployments:
    """Records deployments and lists them, newest first."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def record(
        self,
        product: str,
        version: str,
        environment: str,
        status: str,
        detail: str,
        recorded_by: str,
    ) -> Deployment:
        """Store one step of a product's deployment; refuses an unknown status or environment."""
        if status not in STATUSES:
            raise InvalidRequestError(
                f"Deployment status `{status}` is not one of {', '.join(STATUSES)}.", "status"
            )
        if environment not in ENVIRONMENTS:
            raise InvalidRequestError(
                f"Environment `{environment}` is not one of {', '.join(ENVIRONMENTS)}.",
                "environment",
            )
        for field, value in (
            ("product", product),
            ("version", version),
            ("recorded_by", recorded_by),
        ):
            if not value or len(value) > _LIMITS[field]:
                raise InvalidRequestError(
                    f"Deployment `{field}` must have 1 to {_LIMITS[field]} characters, "
                    f"not {len(value)}.",
                    field,
                )
        record = DeploymentRecord(
            product=product,
            version=version,
            environment=environment,
            status=status,
            detail=detail,
            recorded_by=recorded_by,
            recorded_at=datetime.now(UTC),
        )
        with self.store.session() as session:
            session.add(record)
            session.flush()
            return _deployment(record)

    def list(self, product: str | None = None, limit: int = 100) -> builtins.list[Deployment]:
        """The latest `limit` deployments, newest first; only `product`'s when given."""
        query = select(DeploymentRecord).order_by(DeploymentRecord.id.desc()).limit(limit)
        if product is not None:
            query = query.where(DeploymentRecord.product == product)
        with self.store.session() as session:
            return [_deployment(record) for record in session.scalars(query)]

    def restart_requests(self, after: int) -> builtins.list[Deployment]:
        """Restart requests recorded after the record numbered `after`, oldest first."""
        query = (
            select(DeploymentRecord)
            .where(DeploymentRecord.id > after, DeploymentRecord.status == RESTART_REQUESTED)
            .order_by(DeploymentRecord.id)
        )
        with self.store.session() as session:
            return [_deployment(record) for record in session.scalars(query)]

    def latest_id(self) -> int:
        """The number of the latest record (0: none yet)."""
        with self.store.session() as session:
            return session.scalar(select(func.max(DeploymentRecord.id))) or 0


def _deployment(record: DeploymentRecord) -> Deployment:
    return Deployment(
        id=record.id,
        product=record.product,
        version=record.version,
        environment=record.environment,
        status=record.status,
        detail=record.detail,
        recorded_by=record.recorded_by,
        recorded_at=as_utc(record.recorded_at),  # SQLite drops the zone
    )
