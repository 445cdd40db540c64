"""`make demo` on a fresh folder: the platform starts, takes traffic, prints a login that works at
the gateway, answers every product endpoint with data within a minute or two, and stops cleanly on
SIGTERM."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

READY_BANNER = "Data Platform is running"


@pytest.mark.slow
def test_the_demo_prints_a_login_that_works_and_stops_cleanly(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "dataplatform.demo"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("DATAPLATFORM_")},
            "COLUMNS": "200",  # the login and URLs on one line each
        },
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert demo.stdout is not None
        for line in demo.stdout:
            lines.append(line)
            if READY_BANNER in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(180), "".join(lines)[-3000:]
        output = "".join(lines)
        url = re.search(r"Gateway\s+(http://127\.0\.0\.1:\d+)", output).group(1)  # type: ignore[union-attr]
        password = re.search(r"password (\S+)", output).group(1)  # type: ignore[union-attr]
        events = int(re.search(r"([\d,]+) events accepted", output).group(1).replace(",", ""))  # type: ignore[union-attr]

        token = httpx.post(f"{url}/auth/token", data={"username": "admin", "password": password})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        tables = httpx.get(f"{url}/mobile/tables", headers=headers)
        assert token.status_code == 200
        assert tables.status_code == 200 and tables.json()["tables"]
        assert httpx.get(f"{url}/mobile/tables").status_code == 401
        assert events > 10_000
        # The catalog counts rows on the platform jobs' next round, which a fast start can beat.
        assert _catalogued_bronze_rows(url, headers, events) >= events  # and live traffic since
        assert (tmp_path / ".data/demo/logs/gateway.log").exists()
        _every_product_endpoint_has_data(url, headers)
    finally:
        demo.send_signal(signal.SIGTERM)
        code = demo.wait(120)
        reader.join(10)
    assert code == 0, "".join(lines)[-3000:]
    assert "platform stopped cleanly" in "".join(lines)


# Endpoints of every product, with what the answer looks like when it has data.
ENDPOINTS: dict[str, Callable[[Any], bool]] = {
    "/mobile/activity?granularity=hour": lambda body: bool(body["rows"]),
    "/mobile/active-users": lambda body: bool(body["rows"]),
    "/mobile/retention": lambda body: bool(body["rows"]),
    "/mobile/crashes": lambda body: bool(body["rows"]),
    "/mobile/versions": lambda body: bool(body["rows"]),
    "/web/overview": lambda body: _has_numbers(body),
    "/web/sessions": lambda body: bool(body["rows"]),
    "/web/pages/top": lambda body: bool(body["rows"]),
    "/web/sources": lambda body: bool(body["rows"]),
    "/web/devices": lambda body: bool(body["rows"]),
    "/web/funnels": lambda body: bool(body["rows"]),
    "/web/realtime": lambda body: _has_numbers(body),
    "/segments?kind=ml": lambda body: bool(body["rows"]),
    "/ops/overview": lambda body: bool(body["rows"]),
    "/ops/slos": lambda body: bool(body["rows"]),
    "/ops/timeseries?metric=requests": lambda body: _has_numbers(body["rows"]),
    "/compliance/audit": lambda body: bool(body["rows"]),
    "/compliance/audit/verify": lambda body: body["ok"] is True and body["rows_checked"] > 0,
    "/compliance/access-report": lambda body: bool(body["rows"]),
    "/compliance/retention": lambda body: bool(body["rows"]),
}


def _every_product_endpoint_has_data(url: str, headers: dict[str, str]) -> None:
    """Poll until every endpoint answers with data (the runners catch up with the week sent)."""
    deadline = time.monotonic() + 180
    pending = dict(ENDPOINTS)
    answers: dict[str, Any] = {}
    while pending and time.monotonic() < deadline:
        for path, has_data in list(pending.items()):
            response = httpx.get(f"{url}{path}", headers=headers, timeout=30)
            assert response.status_code == 200, f"{path}: {response.text[:300]}"
            answers[path] = response.json()
            if has_data(answers[path]):
                del pending[path]
        time.sleep(2)
    assert not pending, {path: answers.get(path) for path in pending}
    for path in [*ENDPOINTS, *_endpoints_of_one_user_and_funnel(url, headers)]:
        assert httpx.get(f"{url}{path}").status_code == 401, path


def _endpoints_of_one_user_and_funnel(url: str, headers: dict[str, str]) -> list[str]:
    """The endpoints with path parameters, for a user and a funnel the data holds."""
    web_user = next(
        row["user_id"]
        for row in httpx.get(f"{url}/web/sessions?limit=500", headers=headers).json()["rows"]
        if row.get("user_id")
    )
    app_user = httpx.get(f"{url}/mobile/tables/user_summary", headers=headers).json()["rows"][0]
    funnel = httpx.get(f"{url}/web/funnels", headers=headers).json()["rows"][0]
    paths = [
        f"/mobile/users/{app_user['user_id']}/summary",
        f"/web/users/{web_user}/sessions",
        f"/web/funnels/{funnel['id']}",
        f"/web/funnels/{funnel['id']}/results",
    ]
    for path in paths:
        response = httpx.get(f"{url}{path}", headers=headers, timeout=30)
        assert response.status_code == 200, f"{path}: {response.text[:300]}"
        body = response.json()
        # A funnel's definition has steps; every other answer has numbers in it.
        assert body.get("steps") if path.endswith(funnel["id"]) else _has_numbers(body), path
    return paths


def _has_numbers(body: Any) -> bool:
    """Whether an answer holds a non-zero number anywhere (a count, a rate)."""
    if isinstance(body, bool):
        return False
    if isinstance(body, int | float):
        return body != 0
    if isinstance(body, dict):
        return any(_has_numbers(value) for value in body.values())
    if isinstance(body, list):
        return any(_has_numbers(value) for value in body)
    return False


def _catalogued_bronze_rows(url: str, headers: dict[str, str], at_least: int) -> int:
    """Rows the catalog counts in both bronze tables, once they reach `at_least` (or 120 s pass)."""
    deadline, total = time.monotonic() + 120, 0
    while time.monotonic() < deadline:
        entries = [
            httpx.get(f"{url}/catalog/tables/{table}", headers=headers).json()
            for table in (
                "mobile_user_analytics.bronze.app_events",
                "web_user_analytics.bronze.clickstream",
            )
        ]
        total = sum(entry.get("row_count") or 0 for entry in entries)
        if total >= at_least:
            return total
        time.sleep(1)
    return total
