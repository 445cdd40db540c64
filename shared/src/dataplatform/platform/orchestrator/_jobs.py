"""The platform's periodic jobs: publish the audit log, the lineage, the model runs, the catalog,
table statistics, the bus lag and the gateway's metrics as lake tables (`platform.gold.*`, see
`dataplatform.platform.telemetry`), refreshing the catalog's statistics on the way."""

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from dataplatform.core.errors import TerminalError

if TYPE_CHECKING:
    from dataplatform.core.config import PlatformSettings
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse

logger = logging.getLogger(__name__)


class PlatformJobs:
    """Runs each job in turn, round after round; one failing job does not hold up the others."""

    def __init__(
        self,
        settings: "PlatformSettings",
        store: "MetadataStore",
        lake: "Lakehouse",
        scrape_gateway: "Callable[[], str] | None" = None,
    ) -> None:
        self.jobs = _jobs(settings, store, lake)
        if scrape_gateway is not None:
            from dataplatform.platform.telemetry import publish_service_metrics

            self.jobs["publish_gateway_metrics"] = lambda: publish_service_metrics(
                lake, "gateway", scrape_gateway
            )

    def run_once(self) -> dict[str, str | None]:
        """Run every job once; returns each job's error, None for the ones that succeeded."""
        errors: dict[str, str | None] = {}
        for name, job in self.jobs.items():
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
        """Run a round every `every_seconds` until `stop` is set; a round in progress finishes."""
        while not stop.is_set():
            self.run_once()
            stop.wait(every_seconds)


def _jobs(
    settings: "PlatformSettings", store: "MetadataStore", lake: "Lakehouse"
) -> dict[str, Callable[[], object]]:
    try:
        from dataplatform.core.product import discover_products
        from dataplatform.platform.audit import publish_audit_log, publish_lineage
        from dataplatform.platform.catalog import DataCatalog
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
    return {
        "publish_audit_log": lambda: publish_audit_log(store, lake),
        "publish_lineage": lambda: publish_lineage(store, lake),
        "publish_model_runs": lambda: publish_model_runs(store, lake),
        "publish_table_stats": lambda: publish_table_stats(catalog, lake),
        "publish_catalog": lambda: publish_catalog(catalog, lake),
        "publish_bus_lag": lambda: publish_bus_lag(settings, lake, products),
    }
