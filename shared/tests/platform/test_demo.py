"""`make demo` on a fresh folder: the platform starts, takes traffic, prints a login that works at
the gateway, and stops cleanly on SIGTERM."""

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

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
        bronze = httpx.get(
            f"{url}/catalog/tables/mobile_user_analytics.bronze.app_events", headers=headers
        ).json()
        web = httpx.get(
            f"{url}/catalog/tables/web_user_analytics.bronze.clickstream", headers=headers
        ).json()

        assert token.status_code == 200
        assert tables.status_code == 200 and tables.json()["tables"]
        assert httpx.get(f"{url}/mobile/tables").status_code == 401
        assert events > 10_000
        assert bronze["row_count"] + web["row_count"] >= events  # and live traffic since
        assert (tmp_path / ".data/demo/logs/gateway.log").exists()
    finally:
        demo.send_signal(signal.SIGTERM)
        code = demo.wait(120)
        reader.join(10)
    assert code == 0, "".join(lines)[-3000:]
    assert "platform stopped cleanly" in "".join(lines)
