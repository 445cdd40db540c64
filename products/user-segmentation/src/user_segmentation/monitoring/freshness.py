"""How far each of the product's model tables is behind its inputs, judged against the
product's freshness SLO.

Every model run records on its commit the input versions it took in (`dataplatform.inputs`);
a table is behind from the moment an input committed a version it has not taken in. A table
whose inputs are quiet is not stale, however old its last commit.
"""

import json
from datetime import UTC, datetime
from typing import Any

from dataplatform.core.config import ProductSettings
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.monitoring import HealthCheck, HealthContext, HealthStatus

INPUTS = "dataplatform.inputs"


def lags(context: HealthContext[Any], now: datetime) -> tuple[HealthStatus, str]:
    lake = context.lake
    behind = []
    for table in context.tables:
        if not lake.exists(table):
            continue
        recorded = lake.history(table, limit=1)[0].get(INPUTS)
        for upstream, (_, taken) in json.loads(recorded or "{}").items():
            since = _first_commit_after(lake, upstream, taken)
            if since is not None:
                seconds = (now - since).total_seconds()
                behind.append((seconds, f"{_short(table)} {seconds:.0f} s behind {upstream}"))
    objective = _freshness_objective(context.settings)
    if not behind:
        return HealthStatus.OK, "every table has taken in its inputs' latest commits"
    behind.sort(reverse=True)
    detail = "; ".join(line for _, line in behind)
    if objective is None or behind[0][0] <= objective:
        return HealthStatus.OK, detail
    return HealthStatus.DEGRADED, f"{detail} (objective: {objective:.0f} s)"


def _first_commit_after(lake: Lakehouse, table: str, version: int) -> datetime | None:
    """When `table` first committed after `version`; None when `version` is its latest."""
    if not lake.exists(table):
        return None
    behind = lake.version(table) - version
    if behind <= 0:
        return None
    oldest_missed = lake.history(table, limit=behind)[-1]
    return datetime.fromtimestamp(oldest_missed["timestamp"] / 1000, UTC)


def _freshness_objective(settings: ProductSettings) -> float | None:
    thresholds = [s.threshold for s in settings.slos if s.indicator == "freshness_seconds"]
    return min(thresholds, default=None)


def _short(table: str) -> str:
    return table.split(".", 1)[1]


table_freshness = HealthCheck("table_freshness", lambda context: lags(context, datetime.now(UTC)))
