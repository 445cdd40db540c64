"""The lake's upkeep, a platform job: every table compacted (sorted by the first column its product
declares in `cluster_by`), checkpointed, its expired log dropped and vacuumed, keeping what any
snapshot names; each run recorded per table in `platform.gold.table_maintenance`."""

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dataplatform.core.connectors.lakehouse import (
    Lakehouse,
    Maintained,
    MaintenancePolicy,
    Snapshots,
    TableName,
    maintain,
)
from dataplatform.core.errors import TerminalError

if TYPE_CHECKING:
    from dataplatform.core.config import MaintenanceSettings
    from dataplatform.core.product import Product

logger = logging.getLogger(__name__)

MAINTENANCE_TABLE = "platform.gold.table_maintenance"
MAINTENANCE_SCHEMA = pa.schema(
    [
        pa.field("maintained_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("version", pa.int64()),
        pa.field("files_before", pa.int64()),
        pa.field("files_after", pa.int64()),
        pa.field("compaction", pa.string()),  # not_needed | bin_pack | sort | lost_race
        pa.field("files_compacted", pa.int64()),
        pa.field("log_files_before", pa.int64()),
        pa.field("log_files_after", pa.int64()),
        pa.field("log_kept_for_snapshot", pa.bool_()),
        pa.field("files_vacuumed", pa.int64()),
        pa.field("properties_set", pa.bool_()),
        pa.field("error", pa.string()),
    ]
)


def maintain_lake(
    settings: "MaintenanceSettings",
    lake: Lakehouse,
    snapshots: Snapshots,
    products: Sequence["Product"],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Maintained]:
    """Maintain every table of the lake and record what was done to each; raises after recording
    when a table could not be maintained (the others still were)."""
    clustering = _clustering(products)
    pinned = _pinned_versions(snapshots)
    done, rows, failed = [], [], []
    for name in lake.tables():
        table = str(name)
        policy = _policy(settings, name, clustering.get(table, ()), pinned.get(table, set()))
        try:
            maintained = maintain(lake, name, policy)
        except Exception as exc:  # recorded below; the other tables are still maintained
            logger.exception("maintaining %s failed; it is tried again next run", table)
            failed.append(table)
            rows.append(_failure_row(now(), table, f"{type(exc).__name__}: {exc}"))
            continue
        done.append(maintained)
        rows.append(_success_row(now(), maintained))
    if not lake.exists(MAINTENANCE_TABLE):
        lake.create(MAINTENANCE_TABLE, MAINTENANCE_SCHEMA, description=_DESCRIPTION)
    if rows:
        lake.append(MAINTENANCE_TABLE, pa.Table.from_pylist(rows, schema=MAINTENANCE_SCHEMA))
    if failed:
        raise TerminalError(
            f"Maintenance failed for {', '.join(f'`{t}`' for t in failed)}; the error of each is "
            f"in `{MAINTENANCE_TABLE}` and the jobs' log."
        )
    return done


_DESCRIPTION = "What each scheduled maintenance did to each table: compaction, log, vacuum."


def _policy(
    settings: "MaintenanceSettings",
    name: TableName,
    cluster_by: tuple[str, ...],
    keep_versions: set[int],
) -> MaintenancePolicy:
    return MaintenancePolicy(
        cluster_by=cluster_by,
        min_small_files=settings.min_small_files,
        vacuum_retention_hours=settings.vacuum_retention_hours,
        keep_versions=frozenset(keep_versions),
        properties=_bronze_log_properties(settings) if name.layer == "bronze" else None,
    )


def _bronze_log_properties(settings: "MaintenanceSettings") -> dict[str, str]:
    """Bronze takes a commit per collector batch: its log is checkpointed and cleaned by the
    maintenance only, which knows the versions snapshots still need (a writer's own clean-up
    after a checkpoint would not)."""
    return {
        "delta.logRetentionDuration": f"interval {settings.bronze_log_retention_hours} hours",
        "delta.checkpointInterval": str(settings.bronze_checkpoint_interval),
        "delta.enableExpiredLogCleanup": "false",
    }


def _clustering(products: Sequence["Product"]) -> dict[str, tuple[str, ...]]:
    """Each clustered table's cluster columns, as its product declares them."""
    return {
        product.table_name(table.name): table.cluster_by
        for product in products
        for table in product.tables
        if table.cluster_by
    }


def _pinned_versions(snapshots: Snapshots) -> dict[str, set[int]]:
    """Per table, the versions some snapshot names."""
    pinned: dict[str, set[int]] = {}
    for snapshot in snapshots.list():
        for table, version in snapshot.versions.items():
            pinned.setdefault(table, set()).add(version)
    return pinned


def _success_row(at: datetime, maintained: Maintained) -> dict[str, Any]:
    done = asdict(maintained)
    return {"maintained_at": at, "table_name": done.pop("table"), **done, "error": None}


def _failure_row(at: datetime, table: str, error: str) -> dict[str, Any]:
    return {"maintained_at": at, "table_name": table, "error": error[:2000]}
