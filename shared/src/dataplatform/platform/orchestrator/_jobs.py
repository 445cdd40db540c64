"""The platform's periodic jobs: publish the audit log, the lineage, the model runs, the catalog,
table statistics, the bus lag and the gateway's metrics as lake tables (`platform.gold.*`, see
`dataplatform.platform.telemetry`), refreshing the catalog's statistics on the way; run the
exports that are due (`dataplatform.platform.exports`); and, every
`maintenance.every_seconds`, compact, checkpoint and vacuum every table (`_maintenance.py`)."""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dataplatform.core.errors import TerminalError

if TYPE_CHECKING:
    from dataplatform.core.config import PlatformSettings
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse

logger = logging.getLogger(__name__)

# The audit chain's head reaches the lake at least this often, so `audit verify` notices a tail
# cut off (and the head moved back or deleted) once it is older than this.
MAX_ROUND_SECONDS = 60
# Run once more when stopping: the gateway stops first and appends its buffered audit entries,
# which this last round publishes.
_ON_STOP = ("publish_audit_log",)


class PlatformJobs:
    """Runs each job in turn, round after round; one failing job does not hold up the others."""

    def __init__(
        self,
        settings: "PlatformSettings",
        store: "MetadataStore",
        lake: "Lakehouse",
        scrape_gateway: "Callable[[], str] | None" = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jobs = _jobs(settings, store, lake, clock)
        if scrape_gateway is not None:
            from dataplatform.platform.telemetry import publish_service_metrics

            self.jobs["publish_gateway_metrics"] = lambda: publish_service_metrics(
                lake, "gateway", scrape_gateway
            )

    def run_once(self, only: Sequence[str] | None = None) -> dict[str, str | None]:
        """Run every job (or the ones named in `only`) once; returns each job's error, None for
        the ones that succeeded."""
        errors: dict[str, str | None] = {}
        for name, job in self.jobs.items():
            if only is not None and name not in only:
                continue
            try:
                result = job()
            except Exception as exc:  # reported, and the job runs again next round
                logger.exception("platform job %s failed; it runs again next round", name)
                errors[name] = f"{type(exc).__name__}: {exc}"
            else:
                logger.debug("platform job %s done: %s", name, result)
                errors[name] = None
        return errors

    def run_until(self, stop: threading.Event, every_seconds: float) -> None:
        """Run a round every `every_seconds` until `stop` is set; a round in progress finishes,
        then the audit log is published once more."""
        if not 0 < every_seconds <= MAX_ROUND_SECONDS:
            raise TerminalError(
                f"The platform jobs run every {every_seconds:g} s; it must be between 0 and "
                f"{MAX_ROUND_SECONDS} s, so the audit chain's head reaches the lake at least "
                "every minute."
            )
        while not stop.is_set():
            self.run_once()
            stop.wait(every_seconds)
        self.run_once(only=_ON_STOP)


class _Periodic:
    """A job run at most every `seconds` (on its first round, then once that much has passed),
    for work too heavy for every round; a failed run also waits its interval."""

    def __init__(
        self, seconds: float, job: Callable[[], object], clock: Callable[[], float]
    ) -> None:
        self.seconds = seconds
        self.job = job
        self.clock = clock
        self._last: float | None = None

    def __call__(self) -> object:
        now = self.clock()
        if self._last is not None and now - self._last < self.seconds:
            return "not due"
        self._last = now
        return self.job()


def _jobs(
    settings: "PlatformSettings",
    store: "MetadataStore",
    lake: "Lakehouse",
    clock: Callable[[], float],
) -> dict[str, Callable[[], object]]:
    try:
        from dataplatform.core.connectors.lakehouse import Snapshots
        from dataplatform.core.product import discover_products
        from dataplatform.core.sandbox import QuerySandbox
        from dataplatform.platform.audit import AuditLog, publish_audit_log, publish_lineage
        from dataplatform.platform.backups import Backups
        from dataplatform.platform.catalog import DataCatalog
        from dataplatform.platform.exports import Exports, run_due_exports
        from dataplatform.platform.orchestrator._maintenance import maintain_lake
        from dataplatform.platform.telemetry import (
            publish_bus_lag,
            publish_catalog,
            publish_model_runs,
            publish_table_stats,
        )
    except ImportError as exc:
        raise TerminalError(
            f"The platform jobs cannot start: {exc}. This installation of `dataplatform` lacks "
            "a job; reinstall it (`make install`)."
        ) from exc
    catalog = DataCatalog(store, lake)
    products = discover_products()
    query = settings.query
    sandbox = QuerySandbox(
        settings.lake_root,
        memory_limit_mb=query.memory_limit_mb,
        threads=query.threads,
        timeout_seconds=query.timeout_seconds,
    )
    jobs: dict[str, Callable[[], object]] = {
        "publish_audit_log": lambda: publish_audit_log(store, lake),
        "publish_lineage": lambda: publish_lineage(store, lake),
        "publish_model_runs": lambda: publish_model_runs(store, lake),
        "publish_table_stats": lambda: publish_table_stats(catalog, lake),
        "publish_catalog": lambda: publish_catalog(catalog, lake),
        "publish_bus_lag": lambda: publish_bus_lag(settings, lake, products),
        "run_exports": lambda: run_due_exports(
            Exports(store), lake, sandbox, catalog.pii_columns, AuditLog(store)
        ),
        "maintain_tables": _Periodic(
            settings.maintenance.every_seconds,
            lambda: maintain_lake(settings.maintenance, lake, Snapshots(lake, store), products),
            clock,
        ),
    }
    if settings.backup_location is not None:
        # The erasure log outlives the store: a backup taken before an erasure restores
        # without the person (platform/backups.py).
        backups = Backups(settings.backup_location, settings.storage_options)
        jobs["copy_erasures_to_backups"] = lambda: backups.record_erasures(store)
    return jobs
