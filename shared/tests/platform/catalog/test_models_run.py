"""`dataplatform models run`, as a real process, leaves the catalog up to date with what it wrote."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.catalog import DataCatalog
from dataplatform.testing import app_events

CLI = str(Path(sys.executable).with_name("dataplatform"))
BRONZE = "mobile_user_analytics.bronze.app_events"
SILVER = "mobile_user_analytics.silver.app_events"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    MetadataStore(url).upgrade()
    return url


@pytest.fixture
def env(database_url: str, lake: Lakehouse) -> dict[str, str]:
    return {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(lake.root),
        "DATAPLATFORM_DATABASE_URL": database_url,
        "DATAPLATFORM_MOBILE_USER_ANALYTICS_SCHEDULE_SECONDS": "1",
    }


def test_a_run_catalogues_the_tables_it_wrote(
    env: dict[str, str], database_url: str, lake: Lakehouse
) -> None:
    lake.append(BRONZE, app_events("a", "a", "b"))

    result = subprocess.run(
        [CLI, "models", "run", "--product", "mobile-user-analytics"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    entry = DataCatalog(MetadataStore(database_url), lake).get_table(SILVER)

    assert result.returncode == 0, result.stderr
    assert (entry.version, entry.row_count, entry.file_count) == (1, 2, 1)  # created, then a, b
    assert entry.last_modified is not None
    columns = {column.name: column for column in entry.columns}
    # Types from the table the run made; descriptions and tags from the model's header.
    assert columns["platform"].type == "string"
    assert columns["platform"].description == "ios or android."
    assert columns["device_id"].tags == ["pii"]


def test_continuous_runs_catalogue_each_cycle(
    env: dict[str, str], database_url: str, lake: Lakehouse
) -> None:
    catalog = DataCatalog(MetadataStore(database_url), lake)
    lake.append(BRONZE, app_events("a", "b"))
    process = subprocess.Popen(
        [CLI, "models", "run", "--product", "mobile-user-analytics", "--continuous"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = rows_once_catalogued(catalog, 2, process)
        lake.append(BRONZE, app_events("c"))
        second = rows_once_catalogued(catalog, 3, process)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)

    assert (first, second) == (2, 3)
    assert process.returncode == 0, stderr


def rows_once_catalogued(catalog: DataCatalog, rows: int, process: subprocess.Popen[str]) -> int:
    """The silver table's catalogued row count once it reaches `rows` (or what it was at 60 s)."""
    deadline = time.monotonic() + 60
    count = None
    while time.monotonic() < deadline and process.poll() is None:
        if SILVER in {entry.name for entry in catalog.list_tables()}:
            count = catalog.get_table(SILVER).row_count
            if count == rows:
                break
        time.sleep(0.2)
    return count or 0
