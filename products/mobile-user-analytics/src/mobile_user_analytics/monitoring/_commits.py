"""What a table's Delta log says about how far it has come: the input versions each model run
took in (the runner writes them on every commit as `dataplatform.inputs`) and commit times."""

import json
from datetime import UTC, datetime
from typing import Any

from dataplatform.core.connectors.lakehouse import Lakehouse, TableName
from dataplatform.core.monitoring import HealthContext

INPUTS = "dataplatform.inputs"
# How many commits a check reads back at most: further behind than that, it reports a lower bound.
MOST_COMMITS_READ = 1000


def layer_of(table: str) -> str:
    return TableName.parse(table).layer


def consumed(commit: dict[str, Any]) -> dict[str, int]:
    """Input table -> the last version of it that the run committing `commit` took in."""
    recorded = commit.get(INPUTS)
    if not recorded:
        return {}  # not a model's run (bronze, or a table just created)
    return {table: int(versions[1]) for table, versions in json.loads(recorded).items()}


def taken_in(context: HealthContext[Any], table: str, version: int | None = None) -> dict[str, int]:
    """Input table -> the last version of it that `table` (at `version`, its latest by default)
    has taken in: what the commit recorded, or, at the latest version, what a later run that
    found nothing new to commit read (on record where the process has a metadata store)."""
    lake = context.lake
    recorded = consumed(last_commit(lake, table, version))
    if context.inputs_read is None or (version is not None and version != lake.version(table)):
        return recorded
    read = context.inputs_read(table)
    return {
        upstream: max(recorded.get(upstream, -1), read.get(upstream, -1))
        for upstream in recorded.keys() | read.keys()
    }


def last_commit(lake: Lakehouse, table: str, version: int | None = None) -> dict[str, Any]:
    """The commit info of `table` at `version` (its latest by default)."""
    if version is None:
        return lake.history(table, limit=1)[0]
    return lake.table(table, version=version).history(1)[0]


def waiting_since(lake: Lakehouse, table: str, version: int) -> datetime | None:
    """When `table` first committed after `version` (the oldest change a reader of `version` has
    not taken in); None when `version` is its latest."""
    behind = lake.version(table) - version
    if behind <= 0:
        return None
    commits = lake.history(table, limit=min(behind, MOST_COMMITS_READ))
    return datetime.fromtimestamp(commits[-1]["timestamp"] / 1000, UTC)


Reflected = dict[str, int]


def bronze_taken_in(
    context: HealthContext[Any],
    table: str,
    version: int | None = None,
    seen: dict[tuple[str, int | None], Reflected] | None = None,
) -> Reflected:
    """Each bronze table upstream of `table` -> the latest version of it that `table` (at
    `version`) reflects, following each model's recorded inputs back to bronze. A bronze table
    missing from the answer has not reached `table` at all."""
    seen = {} if seen is None else seen
    if (table, version) in seen:
        return seen[(table, version)]
    reflected: Reflected = {}
    for upstream, up_to in taken_in(context, table, version).items():
        if layer_of(upstream) == "bronze":
            found = {upstream: up_to}
        elif up_to < 0:
            found = {}
        else:
            found = bronze_taken_in(context, upstream, up_to, seen)
        for bronze, taken in found.items():
            reflected[bronze] = min(taken, reflected.get(bronze, taken))
    seen[(table, version)] = reflected
    return reflected
