"""Hand-made app events and the product's models run over them, on a real lake and store."""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.core.processing import ModelRunner
from mobile_user_analytics.product import product

BRONZE = "mobile_user_analytics.bronze.app_events"

Event = dict[str, Any]


def make_app_event(
    event_id: str,
    at: datetime,
    name: str = "app_open",
    *,
    user: str | None = "ana",
    install: str | None = "ana-install",
    device: str | None = "ana-iphone",
    os_name: str = "iOS",
    version: str = "3.2.0",
    session: str | None = None,
    kind: str = "track",
    properties: dict[str, Any] | None = None,
) -> Event:
    """A bronze row of one app event, as the collector writes it; `name` is the screen of a
    screen view (`kind="screen"`)."""
    context: dict[str, Any] = {"app": {"version": version}, "os": {"name": os_name}}
    if device is not None:
        context["device"] = {"id": device}
    if session is not None:
        context["sessionId"] = session
    return {
        "event_id": event_id,
        "type": kind,
        "event": name,
        "user_id": user,
        "anonymous_id": install,
        "timestamp": at,
        "original_timestamp": at,
        "sent_at": at,
        "received_at": at + timedelta(seconds=1),
        "source_id": "ios-app" if os_name == "iOS" else "android-app",
        "wire_format": "segment",
        "context": json.dumps(context),
        "properties": json.dumps(properties or {}),
        "raw": "{}",
    }


@dataclass
class Pipeline:
    """Bronze events in, every model of the product run, silver and gold tables out."""

    lake: Lakehouse
    runner: ModelRunner

    def send(self, events: Iterable[Event]) -> None:
        self.lake.append(BRONZE, pa.Table.from_pylist(list(events), ENVELOPE_SCHEMA))

    def run(self, models: list[str] | None = None) -> None:
        results = self.runner.run(models)
        failed = [r for r in results if r.status not in ("succeeded", "up_to_date")]
        assert not failed, failed

    def rows(self, table: str, **where: Any) -> list[dict[str, Any]]:
        """Rows of `mobile_user_analytics.<table>` whose columns equal `where`."""
        rows = self.lake.read(f"mobile_user_analytics.{table}").to_pylist()
        return [row for row in rows if all(row[k] == v for k, v in where.items())]


def make_pipeline(folder: Path, lake_root: Path | None = None) -> Pipeline:
    """A pipeline with its run records in `folder`, over the lake at `lake_root` (a new one in
    `folder` by default)."""
    store = MetadataStore(f"sqlite:///{folder / 'runs.db'}")
    store.upgrade()
    lake = Lakehouse(lake_root or folder / "lake")
    return Pipeline(lake, ModelRunner(product.model_graph(), lake, store))


@pytest.fixture(scope="session")
def app_event() -> Callable[..., Event]:
    """`make_app_event`, for test modules (which cannot import this file)."""
    return make_app_event


@pytest.fixture(scope="module")
def new_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Pipeline]:
    """Makes pipelines, for module-scoped fixtures that run the models once for many tests."""
    return lambda lake_root=None: make_pipeline(tmp_path_factory.mktemp("pipeline"), lake_root)
