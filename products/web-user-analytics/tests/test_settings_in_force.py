"""A reporting timezone changed through the admin API reaches the models and `/web/overview`
alike, in a gateway that keeps running.

One visit, `night-owl` at 2026-11-20 23:30 UTC: 2026-11-20 in UTC, but 00:30 on 2026-11-21 in
Paris (UTC+1 in November). So the overview of 2026-11-21 holds no session in UTC and this one in
Paris, from 2026-11-20 23:00 UTC to 2026-11-21 23:00 UTC.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import ModelRunner
from dataplatform.core.product_config import ProductConfigs
from dataplatform.testing import RunningGateway, platform_settings, running_gateway
from web_user_analytics.product import product

DAY = {"from": "2026-11-21", "to": "2026-11-21"}


@dataclass
class Web:
    gateway: RunningGateway
    lake: Lakehouse

    def overview(self) -> Any:
        response = httpx.get(
            f"{self.gateway.url}/web/overview", params=DAY, headers=self.gateway.admin
        )
        assert response.status_code == 200, response.text
        return response.json()

    def overview_once(self, ready: Callable[[Any], bool]) -> Any:
        """The overview once `ready` holds: a read answers from the table snapshot held and
        starts a re-check of the table, so a commit shows from a later read on."""
        deadline = time.monotonic() + 60
        while not ready(answer := self.overview()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return answer

    def run_models(self) -> None:
        """The models as `dataplatform models run` runs them: under the settings in force."""
        store = self.gateway.services.store
        graph = product.model_graph(ProductConfigs(store).context_of(product))
        results = ModelRunner(graph, self.lake, store).run(full_refresh=True)
        assert not [result for result in results if result.status == "failed"], results


@pytest.fixture
def web(sdk, to_bronze, tmp_path) -> Iterator[Web]:  # type: ignore[no-untyped-def]
    # Settings and tables checked on every request: the request after a change sees it.
    settings = platform_settings(
        f"sqlite:///{tmp_path / 'platform.db'}",
        tmp_path / "lake",
        gateway={"config_check_seconds": 0, "snapshot_seconds": 0},
    )
    with running_gateway(settings) as gateway:
        night = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
        to_bronze(gateway.services.lake, [sdk.page("night-owl", night, "/")])
        web = Web(gateway, gateway.services.lake)
        web.run_models()
        yield web


def test_a_timezone_changed_through_the_admin_api_moves_the_overview_days(web: Web) -> None:
    in_utc = web.overview()
    assert (in_utc["timezone"], in_utc["from"], in_utc["to"]) == (
        "UTC",
        "2026-11-21T00:00:00+00:00",
        "2026-11-22T00:00:00+00:00",
    )
    assert (in_utc["totals"]["sessions"], in_utc["days"]) == (0, [])

    changed = httpx.put(
        f"{web.gateway.url}/admin/products/web-user-analytics/config",
        json={"values": {"reporting_timezone": "Europe/Paris"}, "comment": "office in Paris"},
        headers=web.gateway.admin,
    )
    assert changed.status_code == 200, changed.text

    # The very next request: its period is a day in Paris, and the session falls in it.
    in_paris = web.overview()
    assert (in_paris["timezone"], in_paris["from"], in_paris["to"]) == (
        "Europe/Paris",
        "2026-11-20T23:00:00+00:00",
        "2026-11-21T23:00:00+00:00",
    )
    assert in_paris["totals"]["sessions"] == 1

    # The models, run again under the new zone, put the session's day on 2026-11-21 too.
    web.run_models()
    in_paris = web.overview_once(lambda answer: bool(answer["days"]))
    assert [(day["day"], day["sessions"]) for day in in_paris["days"]] == [("2026-11-21", 1)]
