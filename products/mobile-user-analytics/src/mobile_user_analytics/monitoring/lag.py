"""How far the tables are behind the events: end to end from bronze to gold, and per table
behind its own inputs (which says where a stuck pipeline is stuck).

Both follow the input versions each model run records on its commit, so a table that is quiet
because nothing new arrived is not stale, and one that missed a commit of its input is, from
that commit's time on. Being late degrades the product; it never fails /ready, since the API
still answers from the tables it has.
"""

from datetime import UTC, datetime
from typing import Any

from dataplatform.core.monitoring import HealthCheck, HealthContext, HealthStatus
from mobile_user_analytics.monitoring._commits import (
    bronze_taken_in,
    layer_of,
    taken_in,
    waiting_since,
)
from mobile_user_analytics.monitoring._objective import freshness_objective_seconds
from mobile_user_analytics.storage import TABLES

Verdict = tuple[HealthStatus, str]
# What the API writes (saved cohorts), not the models: nothing flows into it from bronze.
_WRITTEN_BY_THE_API = frozenset(t.name for t in TABLES if not t.name.startswith("bronze."))


def _fed(table: str) -> bool:
    return table.split(".", 1)[1] not in _WRITTEN_BY_THE_API


def gold_lag(context: HealthContext[Any], now: datetime) -> Verdict:
    """The longest any bronze commit has waited to reach a gold table (every gold table here
    derives from the product's bronze stream)."""
    lake = context.lake
    bronze = [t for t in context.tables if layer_of(t) == "bronze" and lake.exists(t)]
    if not bronze:
        return HealthStatus.OK, "no events have arrived yet"
    seen: dict[tuple[str, int | None], dict[str, int]] = {}
    behind: list[tuple[float, str]] = []
    for gold in (t for t in context.tables if layer_of(t) == "gold" and _fed(t)):
        taken = bronze_taken_in(context, gold, seen=seen) if lake.exists(gold) else {}
        for source in bronze:
            since = waiting_since(lake, source, taken.get(source, -1))
            if since is not None:
                behind.append(((now - since).total_seconds(), gold))
    if not behind:
        return HealthStatus.OK, "every gold table has taken in every bronze commit"
    seconds, table = max(behind)
    return _judge(context, seconds, f"{_short(table)} is {seconds:.0f} s behind bronze")


def table_lags(context: HealthContext[Any], now: datetime) -> Verdict:
    """Each silver and gold table: how long the oldest input commit it has not taken in waited."""
    lake = context.lake
    behind: list[tuple[float, str]] = []
    for table in (t for t in context.tables if layer_of(t) in ("silver", "gold") and _fed(t)):
        if lake.exists(table):
            waiting = {
                upstream: waiting_since(lake, upstream, up_to)
                for upstream, up_to in taken_in(context, table).items()
            }
        else:  # not written yet: behind whatever bronze holds
            waiting = {
                source: waiting_since(lake, source, -1)
                for source in context.tables
                if layer_of(source) == "bronze" and lake.exists(source)
            }
        for upstream, since in waiting.items():
            if since is not None:
                seconds = (now - since).total_seconds()
                behind.append(
                    (seconds, f"{_short(table)} {seconds:.0f} s behind {_short(upstream)}")
                )
    if not behind:
        return HealthStatus.OK, "every table has taken in its inputs' latest commits"
    behind.sort(reverse=True)
    return _judge(context, behind[0][0], "; ".join(line for _, line in behind))


def _judge(context: HealthContext[Any], seconds: float, detail: str) -> Verdict:
    objective = freshness_objective_seconds(context.settings)
    if objective is None:
        return HealthStatus.OK, detail
    status = HealthStatus.DEGRADED if seconds > objective else HealthStatus.OK
    return status, f"{detail} (objective: {objective:.0f} s)"


def _short(table: str) -> str:
    return table.split(".", 1)[1]


bronze_to_gold_lag = HealthCheck(
    "bronze_to_gold_lag", lambda context: gold_lag(context, datetime.now(UTC))
)
table_freshness = HealthCheck(
    "table_freshness", lambda context: table_lags(context, datetime.now(UTC))
)
