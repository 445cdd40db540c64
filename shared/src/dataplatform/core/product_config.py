"""Product configuration changed at run time: every version kept, with who changed it and when.

A version holds the keys changed from `product_config.yaml`; it is validated by loading the
product's settings with it before it is stored, so a stored version always loads. Model and job
processes read the latest version when they start (the orchestrator restarts a product's processes
when it moves); every gateway process watches `latest_versions` and rebuilds a product's router
and health context when its version moves.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from dataplatform.core.bounds import as_utc
from dataplatform.core.config import ProductSettings
from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.errors import (
    CommitConflictError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
)
from dataplatform.core.product import Product
from dataplatform.core.product_context import Configurable, ProductContext


class ProductConfigRecord(Base):
    __tablename__ = "product_config_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class ConfigVersion:
    product: str
    version: int
    values: dict[str, Any]
    changed_by: str
    changed_at: datetime
    comment: str


class ProductConfigs:
    """Stores and reads the versions of each product's run-time configuration."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def latest(self, product: str) -> ConfigVersion | None:
        with self.store.session() as session:
            record = session.scalars(
                select(ProductConfigRecord)
                .where(ProductConfigRecord.product == product)
                .order_by(ProductConfigRecord.version.desc())
                .limit(1)
            ).first()
            return _to_version(record) if record else None

    def latest_version(self, product: str) -> int | None:
        """The number of the product's latest stored version (None: never changed)."""
        with self.store.session() as session:
            return session.scalar(
                select(func.max(ProductConfigRecord.version)).where(
                    ProductConfigRecord.product == product
                )
            )

    def history(self, product: str) -> list[ConfigVersion]:
        """Every version, newest first."""
        with self.store.session() as session:
            records = session.scalars(
                select(ProductConfigRecord)
                .where(ProductConfigRecord.product == product)
                .order_by(ProductConfigRecord.version.desc())
            )
            return [_to_version(record) for record in records]

    def get(self, product: str, version: int) -> ConfigVersion:
        """One stored version; version 0 is the product's files alone (nothing stored)."""
        if version == 0:
            return ConfigVersion(product, 0, {}, "", datetime.min.replace(tzinfo=UTC), "")
        with self.store.session() as session:
            record = session.scalar(
                select(ProductConfigRecord).where(
                    ProductConfigRecord.product == product, ProductConfigRecord.version == version
                )
            )
            if record is None:
                raise NotFoundError(
                    f"`{product}` has no configuration version {version}; "
                    f"GET /admin/products/{product}/config/versions lists them."
                )
            return _to_version(record)

    def latest_versions(self) -> dict[str, int]:
        """Each product that has a stored version -> the number of its latest, in one query."""
        with self.store.session() as session:
            rows = session.execute(
                select(ProductConfigRecord.product, func.max(ProductConfigRecord.version)).group_by(
                    ProductConfigRecord.product
                )
            )
            return {product: version for product, version in rows}

    def settings_of(self, product: Configurable) -> ProductSettings:
        """The product's settings in force: its files and environment, and its latest stored
        version applied. Every process resolves settings this way, through `context_of`."""
        latest = self.latest(product.name)
        return product.settings(stored=latest.values if latest else None)

    def context_of(self, product: Product) -> ProductContext[Any]:
        """The context the product's hooks receive, with the settings in force."""
        return product.context(self.settings_of(product), settings_of=self.settings_of)

    def save(
        self, product: Product, values: dict[str, Any], changed_by: str, comment: str = ""
    ) -> ConfigVersion:
        """Validate `values` against the product's settings and store them as a new version."""
        try:
            product.settings(stored=values)
        except ConfigError as exc:
            # The form field of the first bad key: the console shows the error beside it.
            field = f"values.{exc.keys[0]}" if exc.keys else "values"
            raise InvalidRequestError(exc.message, field=field) from None
        version = (self.latest_version(product.name) or 0) + 1
        record = ProductConfigRecord(
            product=product.name,
            version=version,
            values=values,
            changed_by=changed_by,
            changed_at=datetime.now(UTC),
            comment=comment,
        )
        try:
            with self.store.session() as session:
                session.add(record)
        except IntegrityError:
            raise CommitConflictError(
                f"Another change to `{product.name}`'s configuration was saved as version "
                f"{version} first; read it and try again."
            ) from None
        return _to_version(record)


def _to_version(record: ProductConfigRecord) -> ConfigVersion:
    return ConfigVersion(
        record.product,
        record.version,
        dict(record.values),
        record.changed_by,
        as_utc(record.changed_at),  # SQLite drops the zone
        record.comment,
    )
