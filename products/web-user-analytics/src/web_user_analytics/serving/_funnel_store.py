"""Funnel definitions: those of the config, and those created through the API, kept in the
product's own Delta table gold.funnel_definitions."""

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import anyio
import pyarrow as pa
from fastapi import Request

from dataplatform.core.access import Principal
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import NotFoundError, did_you_mean
from dataplatform.core.serving import gold_page, gold_rows, lake_of
from web_user_analytics.funnels import FunnelDefinition, FunnelStep, NewFunnel
from web_user_analytics.storage import FUNNEL_DEFINITIONS_SCHEMA

# Config funnels come as parameters, so one query pages through both kinds in one order:
# config funnels first, in their config order, then created ones, oldest first.
FUNNELS = """
with configured as (
    select
        unnest($funnel_id::varchar[]) as funnel_id,
        unnest($name::varchar[]) as name,
        unnest($steps::varchar[]) as steps,
        unnest($window_days::integer[]) as window_days,
        unnest(range($count)) as position
)
select
    funnel_id, name, steps, window_days, 'config' as origin,
    null::varchar as created_by, null::timestamp as created_at, 0 as kind, position
from configured
union all
select funnel_id, name, steps, window_days, 'api', created_by, created_at, 1, 0
from {stored}
order by kind, position, created_at, funnel_id
"""
# Before the first funnel is created through the API its table does not exist: a read must not
# create it, so the config funnels are listed alone.
NO_STORED_FUNNELS = """(
    select
        null::varchar as funnel_id, null::varchar as name, null::varchar as steps,
        null::integer as window_days, null::varchar as created_by, null::timestamp as created_at
    where false
)"""
ALL_FUNNELS = FUNNELS.format(stored="d")
CONFIGURED_FUNNELS = FUNNELS.format(stored=NO_STORED_FUNNELS)
CONFIGURED_COLUMNS = ("funnel_id", "name", "steps", "window_days")
STORED_FUNNEL = "select * from d where funnel_id = $funnel_id"


class FunnelStore:
    """Reads and writes funnel definitions for the routes: `configured` come from settings,
    the others are kept in the table `definitions`."""

    def __init__(self, configured: Sequence[FunnelDefinition], definitions: str) -> None:
        self.configured = {funnel.id: funnel for funnel in configured}
        self.definitions = definitions

    async def page(
        self, request: Request, caller: Principal, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        """One page of every funnel, as `{"rows": [...], "next_cursor": ...}`."""
        # A table not written yet reads as no rows, and would hide the config funnels too.
        stored = await anyio.to_thread.run_sync(lake_of(request).exists, self.definitions)
        configured = [_config_row(funnel) for funnel in self.configured.values()]
        page = await gold_page(
            request,
            caller,
            ALL_FUNNELS if stored else CONFIGURED_FUNNELS,
            {"d": self.definitions} if stored else {},
            {
                **{column: [row[column] for row in configured] for column in CONFIGURED_COLUMNS},
                "count": len(configured),
            },
            limit=limit,
            cursor=cursor,
        )
        return {**page, "rows": [_as_json(row) for row in page["rows"]]}

    async def find(self, request: Request, caller: Principal, funnel_id: str) -> dict[str, Any]:
        """One funnel by id; a 404 that says where funnels are listed when there is none."""
        if funnel_id in self.configured:
            return _as_json(_config_row(self.configured[funnel_id]))
        rows = await gold_rows(
            request, caller, STORED_FUNNEL, {"d": self.definitions}, {"funnel_id": funnel_id}
        )
        if not rows:
            # Just created: the snapshot cache may not hold it yet (it re-reads within a second).
            rows = await anyio.to_thread.run_sync(
                _read_stored, lake_of(request), self.definitions, funnel_id
            )
        if not rows:
            raise NotFoundError(
                f"No funnel `{funnel_id}`; GET /web/funnels lists them, POST /web/funnels creates "
                f"one.{did_you_mean(funnel_id, self.configured)}"
            )
        return _as_json(rows[0])

    async def create(
        self, request: Request, caller: Principal, funnel: NewFunnel
    ) -> dict[str, Any]:
        """Keep `funnel` under a new id; returns it as the API shows funnels."""
        row = {
            "funnel_id": uuid.uuid4().hex[:12],
            "name": funnel.name,
            "steps": _steps_json(funnel.steps),
            "window_days": funnel.window_days,
            "created_by": caller.subject,
            "created_at": datetime.now(UTC),
        }
        rows = pa.Table.from_pylist([row], FUNNEL_DEFINITIONS_SCHEMA)
        await anyio.to_thread.run_sync(lambda: lake_of(request).append(self.definitions, rows))
        return _as_json(row)


def _read_stored(lake: Lakehouse, definitions: str, funnel_id: str) -> list[Mapping[str, Any]]:
    if not lake.exists(definitions):
        return []
    return [row for row in lake.read(definitions).to_pylist() if row["funnel_id"] == funnel_id]


def _config_row(funnel: FunnelDefinition) -> dict[str, Any]:
    return {
        "funnel_id": funnel.id,
        "name": funnel.name,
        "steps": _steps_json(funnel.steps),
        "window_days": funnel.window_days,
        "origin": "config",
        "created_by": None,
        "created_at": None,
    }


def _steps_json(steps: Sequence[FunnelStep]) -> str:
    return json.dumps([step.model_dump(exclude_none=True) for step in steps])


def _as_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored or queried row as the API shows a funnel."""
    return {
        "id": row["funnel_id"],
        "name": row["name"],
        "steps": json.loads(row["steps"]),
        "window_days": row["window_days"],
        "origin": row.get("origin", "api"),
        "created_by": row["created_by"],
        "created_at": row["created_at"],
    }
