"""Health results, the checks every product shares, and running a product's checks."""

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.product_context import ProductContext, S

logger = logging.getLogger(__name__)


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"


@dataclass(frozen=True)
class HealthResult:
    name: str
    status: HealthStatus
    detail: str


@dataclass(frozen=True, kw_only=True)
class HealthContext(ProductContext[S]):
    """What a check may look at: the product's context (settings in force, tables), the lake,
    and the model runs on record where the process has a metadata store."""

    lake: Lakehouse
    # A model's table -> each input's version its latest run read up to (`RunLog.read_up_to`),
    # where the process has a metadata store. A run that found nothing new commits nothing, so
    # only its record says the table has taken in its inputs: without it, a quiet table would
    # look stale.
    inputs_read: Callable[[str], Mapping[str, int]] | None = None


@dataclass(frozen=True)
class HealthCheck:
    """A named check; `run` returns the status and a line of detail."""

    name: str
    run: Callable[[HealthContext[Any]], tuple[HealthStatus, str]]


def run_checks(checks: Sequence[HealthCheck], context: HealthContext[Any]) -> list[HealthResult]:
    """Run every check; a check that raises is reported as failing, with its error."""
    results = []
    for check in checks:
        try:
            status, detail = check.run(context)
        except Exception as exc:
            logger.exception("health check %s raised", check.name)
            status, detail = HealthStatus.FAILING, f"{type(exc).__name__}: {exc}"
        results.append(HealthResult(check.name, status, detail))
    return results


def _lake_writable(context: HealthContext[Any]) -> tuple[HealthStatus, str]:
    if not context.lake.is_local:
        return HealthStatus.OK, f"remote lake {context.lake.root} (write probe runs on local roots)"
    root = Path(context.lake.root)
    root.mkdir(parents=True, exist_ok=True)
    probe = root / f".health-{uuid.uuid4().hex}"
    probe.write_bytes(b"ok")
    probe.unlink()
    return HealthStatus.OK, f"{root} is writable"


def _tables_readable(context: HealthContext[Any]) -> tuple[HealthStatus, str]:
    present = [name for name in context.tables if context.lake.exists(name)]
    for name in present:
        context.lake.version(name)  # raises if the log is unreadable
    missing = [name for name in context.tables if name not in present]
    detail = f"{len(present)} of {len(context.tables)} tables readable"
    if missing:
        detail += f"; not written yet: {', '.join(missing)}"
    return HealthStatus.OK, detail


lake_writable = HealthCheck("lake_writable", _lake_writable)
tables_readable = HealthCheck("tables_readable", _tables_readable)
