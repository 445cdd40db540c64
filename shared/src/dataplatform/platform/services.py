"""The platform's services for one process, which the gateway and every router over it share."""

from dataclasses import dataclass
from typing import Any, Self

from fastapi import Request

from dataplatform.core.access import Principal
from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import TerminalError
from dataplatform.core.governance import protect
from dataplatform.core.product import Product, declared_person_columns, discover_products
from dataplatform.core.sandbox import QuerySandbox
from dataplatform.core.serving import TableSnapshots
from dataplatform.platform.audit import AuditLog, AuditWriter, request_entry
from dataplatform.platform.auth import Auth, LoginLockouts, PlatformAccess, RateLimiter
from dataplatform.platform.catalog import DataCatalog
from dataplatform.platform.query import SavedQueries
from dataplatform.platform.sources import SourceRegistry


@dataclass
class Services:
    """The platform's services for one process: metadata store, lake, auth, audit, catalog."""

    settings: PlatformSettings
    store: MetadataStore
    lake: Lakehouse
    products: list[Product]
    auth: Auth
    audit_log: AuditLog
    audit: AuditWriter
    catalog: DataCatalog
    sources: SourceRegistry
    access: PlatformAccess
    login_limiter: RateLimiter
    login_lockouts: LoginLockouts
    tables: TableSnapshots
    saved_queries: SavedQueries
    sandbox: QuerySandbox

    @classmethod
    def start(cls, settings: PlatformSettings, products: list[Product]) -> Self:
        """Connect to a migrated metadata store, make the built-in roles, catalogue the tables."""
        store = MetadataStore(settings.database_url)
        if store.current_revision() != store.head_revision():
            raise TerminalError(
                f"The metadata store at {store.safe_url} is at revision "
                f"{store.current_revision()}, not {store.head_revision()}; run `dataplatform db upgrade`."
            )
        lake = Lakehouse(settings.lake_root, settings.storage_options)
        # What the gateway writes (an erasure's report, a retraining asked through the API)
        # passes the suppression list like every model's and job's commit.
        protect(lake, store, declared_person_columns())
        # Roles name every installed product, also when this process serves only some of them.
        installed = {product.name for product in [*products, *discover_products()]}
        auth = Auth.create(settings, store, sorted(installed))
        auth.roles.ensure_builtin()
        audit_log = AuditLog(store)
        audit = AuditWriter(audit_log, settings.audit.flush_interval_ms, settings.audit.batch_size)
        catalog = DataCatalog(store, lake)
        catalog.register_products(products)
        gateway = settings.gateway
        access = auth.access(settings, audit, catalog.pii_columns)
        return cls(
            settings=settings,
            store=store,
            lake=lake,
            products=products,
            auth=auth,
            audit_log=audit_log,
            audit=audit,
            catalog=catalog,
            sources=SourceRegistry(store, settings.auth.cache_seconds),
            access=access,
            login_limiter=RateLimiter(gateway.anonymous_rate_limit, gateway.rate_limit_storage),
            login_lockouts=LoginLockouts(
                store, settings.auth.lockout_failures, settings.auth.lockout_minutes
            ),
            tables=TableSnapshots(lake, gateway.snapshot_seconds, gateway.answer_cache_entries),
            saved_queries=SavedQueries(store),
            sandbox=QuerySandbox(
                settings.lake_root,
                memory_limit_mb=settings.query.memory_limit_mb,
                threads=settings.query.threads,
                timeout_seconds=settings.query.timeout_seconds,
            ),
        )

    def record(self, request: Request, caller: Principal, action: str, **details: Any) -> None:
        """Audit that `caller` did `action` through `request` (see `request_entry` for `details`)."""
        self.audit.record(request_entry(request, caller, action, **details))

    def close(self) -> None:
        """Append the buffered audit entries and release the database."""
        self.audit.close()
        self.store.dispose()


def services(request: Request) -> Services:
    """The running app's services (a FastAPI dependency)."""
    running: Services = request.app.state.services
    return running
