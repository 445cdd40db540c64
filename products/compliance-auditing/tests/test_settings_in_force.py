"""The health checks `/ready` runs judge against the settings in force: an erasure deadline
shortened through the admin API makes an open request overdue, in a gateway that keeps running.

One erasure request failed ten days ago: within the 30-day deadline of product_config.yaml,
past a 5-day one.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pyarrow as pa
import pytest

from compliance_auditing.product import product
from compliance_auditing.storage import ERASURE_REQUESTS_SCHEMA
from dataplatform.testing import RunningGateway, platform_settings, running_gateway

ERASURE_TABLE = product.context().table("gold.erasure_requests")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[RunningGateway]:
    # Settings checked on every request: the request after a change sees it.
    settings = platform_settings(
        f"sqlite:///{tmp_path / 'platform.db'}",
        tmp_path / "lake",
        gateway={"config_check_seconds": 0},
    )
    with running_gateway(settings) as running:
        yield running


def erasures_check(gateway: RunningGateway) -> dict[str, Any]:
    ready = httpx.get(f"{gateway.url}/ready").json()
    checks = ready["products"]["compliance-auditing"]["checks"]
    return next(check for check in checks if check["name"] == "erasures_overdue")


def test_a_deadline_shortened_through_the_admin_api_makes_an_open_erasure_overdue(
    gateway: RunningGateway,
) -> None:
    requested_at = datetime.now(UTC) - timedelta(days=10)
    failed = {
        "request_id": "r" * 32,
        "subject_hash": "a" * 64,
        "linked_ids": 0,
        "requested_by": "gus",
        "requested_at": requested_at,
        "status": "failed",
        "rows_removed": 0,
        "tables": "[]",
    }
    gateway.services.lake.append(
        ERASURE_TABLE, pa.Table.from_pylist([failed], ERASURE_REQUESTS_SCHEMA)
    )
    assert erasures_check(gateway) == {
        "name": "erasures_overdue",
        "status": "ok",
        "detail": "1 erasure requests are not done, none past the deadline",
    }

    changed = httpx.put(
        f"{gateway.url}/admin/products/compliance-auditing/config",
        json={"values": {"erasure_deadline_days": 5}},
        headers=gateway.admin,
    )
    assert changed.status_code == 200, changed.text

    # The very next answer, though /ready keeps an answer for a while: it was about old settings.
    assert erasures_check(gateway) == {
        "name": "erasures_overdue",
        "status": "degraded",
        "detail": "1 erasure requests are not done; 1 past the deadline, the oldest from "
        f"{requested_at:%Y-%m-%d}",
    }
