"""Roles: named sets of permissions. Built-in roles are made at start; admins add their own."""

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cachetools import TTLCache
from sqlalchemy import JSON, Boolean, DateTime, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from dataplatform.core.access import (
    ADMIN,
    AUDIT_READ,
    CATALOG_READ,
    CATALOG_WRITE,
    METRICS_READ,
    PII_READ,
    PLATFORM_PERMISSIONS,
    QUERY_RUN,
    SOURCES_WRITE,
    product_permission,
)
from dataplatform.core.connectors.db import Base, MetadataStore
from dataplatform.core.errors import ConflictError, InvalidRequestError, NotFoundError, did_you_mean

_ROLE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
_PRODUCT_PERMISSION = re.compile(r"^product:(?P<product>[a-z0-9*-]+):(?P<action>read|write)$")


class RoleRecord(Base):
    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    permissions: Mapped[list[str]] = mapped_column(JSON)
    builtin: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    permissions: tuple[str, ...]
    builtin: bool


def builtin_roles(products: Sequence[str]) -> list[Role]:
    """The roles every installation has: admin, viewer, auditor, and an owner role per product."""
    roles = [
        Role("admin", "Everything, including users, keys and configuration.", (ADMIN,), True),
        Role(
            "viewer",
            "Reads every product's data (PII masked) and the catalog.",
            ("product:*:read", CATALOG_READ),
            True,
        ),
        Role(
            "analyst",
            "Reads every product's data (PII masked) and the catalog, runs SQL over the gold "
            "tables and saves queries.",
            ("product:*:read", CATALOG_READ, QUERY_RUN),
            True,
        ),
        Role("auditor", "Reads the audit log and the catalog.", (AUDIT_READ, CATALOG_READ), True),
        Role(
            "pii-reader", "Sees PII columns unmasked (combine with a read role).", (PII_READ,), True
        ),
        Role(
            "data-steward",
            "Curates the catalog: descriptions, tags, retention.",
            (CATALOG_READ, CATALOG_WRITE),
            True,
        ),
        Role(
            "source-manager", "Creates, rotates and revokes event sources.", (SOURCES_WRITE,), True
        ),
        Role("monitoring", "Scrapes Prometheus metrics.", (METRICS_READ,), True),
    ]
    for product in products:
        roles.append(
            Role(
                f"{product}-owner",
                f"The team owning {product}: reads and changes its data.",
                (
                    product_permission(product, "read"),
                    product_permission(product, "write"),
                    CATALOG_READ,
                ),
                True,
            )
        )
    return roles


class Roles:
    """Stores roles and answers which permissions a set of roles grants (briefly cached)."""

    def __init__(self, store: MetadataStore, products: Sequence[str], cache_seconds: float) -> None:
        self.store = store
        self.products = tuple(products)
        self._cache: TTLCache[str, frozenset[str]] = TTLCache(maxsize=1000, ttl=cache_seconds)
        self._lock = threading.Lock()

    def ensure_builtin(self) -> None:
        """Create or refresh the built-in roles (idempotent; run at every start)."""
        with self.store.session() as session:
            existing = {record.name: record for record in session.scalars(select(RoleRecord))}
            for role in builtin_roles(self.products):
                record = existing.get(role.name)
                if record is None:
                    session.add(_to_record(role))
                elif record.builtin:
                    record.description = role.description
                    record.permissions = list(role.permissions)
        self._forget()

    def list(self) -> list[Role]:
        with self.store.session() as session:
            return [
                _to_role(r) for r in session.scalars(select(RoleRecord).order_by(RoleRecord.name))
            ]

    def get(self, name: str) -> Role:
        with self.store.session() as session:
            record = session.get(RoleRecord, name)
            if record is None:
                known = list(session.scalars(select(RoleRecord.name)))
                raise NotFoundError(f"No role `{name}`.{did_you_mean(name, known)}")
            return _to_role(record)

    def create(self, name: str, permissions: Sequence[str], description: str) -> Role:
        if not _ROLE_NAME.match(name):
            raise InvalidRequestError(
                f"Role name `{name}` must be 2-63 lower-case letters, digits and dashes.", "name"
            )
        role = Role(name, description, self.validate(permissions), False)
        with self.store.session() as session:
            if session.get(RoleRecord, name) is not None:
                raise ConflictError(f"A role named `{name}` already exists.")
            session.add(_to_record(role))
        self._forget()
        return role

    def update(self, name: str, permissions: Sequence[str], description: str | None) -> Role:
        checked = self.validate(permissions)
        with self.store.session() as session:
            record = self._editable(session.get(RoleRecord, name), name)
            record.permissions = list(checked)
            if description is not None:
                record.description = description
            role = _to_role(record)
        self._forget()
        return role

    def delete(self, name: str) -> None:
        with self.store.session() as session:
            session.delete(self._editable(session.get(RoleRecord, name), name))
        self._forget()

    def require_known(self, names: Iterable[str]) -> tuple[str, ...]:
        """`names` if every one is a role, else 422 naming the first unknown one."""
        wanted = tuple(dict.fromkeys(names))
        with self.store.session() as session:
            known = set(session.scalars(select(RoleRecord.name)))
        for index, name in enumerate(wanted):
            if name not in known:
                raise InvalidRequestError(
                    f"`roles[{index}]` = `{name}` is not a role.{did_you_mean(name, known)}",
                    f"roles[{index}]",
                )
        return wanted

    def validate(self, permissions: Sequence[str]) -> tuple[str, ...]:
        """The permissions if each is known, else 422 naming the bad one and the choices."""
        if not permissions:
            raise InvalidRequestError("A role needs at least one permission.", "permissions")
        for index, permission in enumerate(permissions):
            match = _PRODUCT_PERMISSION.match(permission)
            if permission in PLATFORM_PERMISSIONS:
                continue
            if match and match["product"] in (*self.products, "*"):
                continue
            choices = [
                *PLATFORM_PERMISSIONS,
                *(product_permission(p, a) for p in self.products for a in ("read", "write")),
            ]
            raise InvalidRequestError(
                f"`permissions[{index}]` = `{permission}` is not a permission."
                f"{did_you_mean(permission, choices)} Known: {', '.join(PLATFORM_PERMISSIONS)}, "
                "product:<name|*>:read|write.",
                f"permissions[{index}]",
            )
        return tuple(dict.fromkeys(permissions))

    def cached_permissions(self, roles: Iterable[str]) -> frozenset[str]:
        """What `permissions_of` answered within the cache time; KeyError when a lookup is needed."""
        with self._lock:
            return self._cache[",".join(sorted(roles))]

    def permissions_of(self, roles: Iterable[str]) -> frozenset[str]:
        """Every permission the roles grant; unknown (deleted) roles grant nothing."""
        key = ",".join(sorted(roles))
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        with self.store.session() as session:
            granted = frozenset(
                permission
                for permissions in session.scalars(
                    select(RoleRecord.permissions).where(RoleRecord.name.in_(key.split(",")))
                )
                for permission in permissions
            )
        with self._lock:
            self._cache[key] = granted
        return granted

    def _editable(self, record: RoleRecord | None, name: str) -> RoleRecord:
        if record is None:
            raise NotFoundError(f"No role `{name}`.")
        if record.builtin:
            raise ConflictError(f"`{name}` is a built-in role; create a role of your own instead.")
        return record

    def _forget(self) -> None:
        with self._lock:
            self._cache.clear()


def _to_record(role: Role) -> RoleRecord:
    return RoleRecord(
        name=role.name,
        description=role.description,
        permissions=list(role.permissions),
        builtin=role.builtin,
        created_at=datetime.now(UTC),
    )


def _to_role(record: RoleRecord) -> Role:
    return Role(record.name, record.description, tuple(record.permissions), record.builtin)
