"""The platform report on a small hand-made case, on SQLite and PostgreSQL; its route; and
`dataplatform report` run as a real process."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pyarrow as pa
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import ModelRunner
from dataplatform.core.product import get_product
from dataplatform.platform.audit import AuditEntry, AuditLog
from dataplatform.platform.reporting import build_report, render_markdown
from dataplatform.testing import RunningGateway, app_events

BRONZE = "mobile_user_analytics.bronze.app_events"
SILVER = "mobile_user_analytics.silver.app_events"
SUMMARY = "mobile_user_analytics.gold.user_summary"
ROUTE = "/mobile/tables/{table}"
CLI = str(Path(sys.executable).with_name("dataplatform"))


def read(table: str, rows: int, pii: bool = False, days_ago: int = 0) -> AuditEntry:
    return AuditEntry(
        actor="vera",
        actor_kind="user",
        action="data.read",
        method="GET",
        route=ROUTE,
        status=200,
        table_name=table,
        row_count=rows,
        pii=pii,
        recorded_at=datetime.now(UTC) - timedelta(days=days_ago),
    )


def data_bytes(lake_root: Path, table: str) -> int:
    """Bytes of the table's data files, partition folders included (appends only: every
    parquet file is live)."""
    folder = lake_root.joinpath(*table.split("."))
    return sum(
        path.stat().st_size
        for path in folder.rglob("*.parquet")
        if not path.relative_to(folder).parts[0].startswith("_")  # change data, the log
    )


def test_report_of_a_small_case_as_json_and_markdown(
    store: MetadataStore, lake: Lakehouse, lake_root: Path
) -> None:
    mobile = get_product("mobile-user-analytics")
    # Four events in two commits; `a` is sent twice and `b` comes from an OS the model
    # does not expect, which its `accepted_values` check (severity warn) reports.
    lake.append(
        BRONZE, pa.concat_tables([app_events("a", "a"), app_events("b", os_name="Windows")])
    )
    lake.append(BRONZE, app_events("c", os_name="Android"))
    # Only the silver model, so that the gold tables are still unwritten.
    ModelRunner(mobile.model_graph(), lake, store).run(["silver.app_events"])
    AuditLog(store).append(
        [
            read(SUMMARY, 10),
            read(SUMMARY, 5, pii=True),
            read(SUMMARY, 99, days_ago=2),  # before the window
            read("web_user_analytics.gold.pages", 7),  # another product's table
            AuditEntry(actor="vera", actor_kind="user", action="auth.login"),
        ]
    )

    report = build_report(store, lake, [mobile])
    markdown = render_markdown(report)

    product = report["products"]["mobile-user-analytics"]
    tables = {table["table"]: table for table in product["tables"]}
    assert list(report["products"]) == ["mobile-user-analytics"]
    assert (tables[BRONZE]["rows"], tables[BRONZE]["rows_added_24h"]) == (4, 4)
    assert (tables[BRONZE]["commits_24h"], tables[BRONZE]["files"]) == (2, 2)
    assert tables[BRONZE]["size_bytes"] == data_bytes(lake_root, BRONZE)
    assert tables[BRONZE]["storage_bytes"] > tables[BRONZE]["size_bytes"]  # plus its log
    # a, b and c once; created, then written: two commits.
    assert (tables[SILVER]["rows"], tables[SILVER]["rows_added_24h"]) == (3, 3)
    assert tables[SILVER]["commits_24h"] == 2
    assert tables[SILVER]["size_bytes"] == data_bytes(lake_root, SILVER)
    assert 0 <= tables[SILVER]["freshness_seconds"] < 600
    assert tables[SUMMARY]["version"] is None and tables[SUMMARY]["rows"] is None
    assert product["totals"] == {
        "rows": 7,
        "rows_added_24h": 7,
        "size_bytes": data_bytes(lake_root, BRONZE) + data_bytes(lake_root, SILVER),
        "reads_24h": 2,
        "rows_served_24h": 15,
        "pii_reads_24h": 1,
    }
    run = next(run for run in product["quality"] if run["model"] == SILVER)
    assert (run["model"], run["status"], run["sequence"], run["rows_out"]) == (
        SILVER,
        "succeeded",
        1,
        3,
    )
    assert [(c["check"], c["severity"], c["passed"], c["failing_rows"]) for c in run["checks"]] == [
        ("not_null", "error", True, 0),
        ("accepted_values", "warn", False, 1),
    ]
    assert product["traffic"] == [
        {"table": SUMMARY, "route": ROUTE, "reads": 2, "rows": 15, "pii_reads": 1}
    ]

    assert "## mobile-user-analytics" in markdown
    assert f"| {BRONZE} | 4 | 4 | " in markdown
    assert f"| {SILVER} | 3 | 3 | " in markdown
    assert f"| {SUMMARY} | never written |" in markdown
    assert (
        f"| {SILVER} | 1 | succeeded | {run['finished_at']} | not_null(event_id) passed; "
        "accepted_values(platform) warn: 1 failing rows |"
    ) in markdown
    assert f"| {ROUTE} | {SUMMARY} | 2 | 15 | 1 |" in markdown
    assert "7 rows (7 added in 24 h)" in markdown


def test_report_route_is_for_admins(gateway: RunningGateway) -> None:
    viewer = gateway.headers_for("vera", ["viewer"])
    admin = gateway.admin
    url = f"{gateway.url}/admin/report"

    as_json = httpx.get(url, headers=admin)
    as_markdown = httpx.get(url, params={"format": "markdown"}, headers=admin)
    refused = httpx.get(url, headers=viewer)
    bad_format = httpx.get(url, params={"format": "pdf"}, headers=admin)

    assert as_json.status_code == 200
    assert sorted(as_json.json()["products"]) == [
        "compliance-auditing",
        "mobile-user-analytics",
        "operational-metrics",
        "user-segmentation",
        "web-user-analytics",
    ]
    assert as_markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert as_markdown.text.startswith("# Data Platform report\n")
    assert refused.status_code == 403
    assert bad_format.status_code == 422


@pytest.fixture
def cli_env(tmp_path: Path, lake_root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(lake_root),
        "DATAPLATFORM_DATABASE_URL": f"sqlite:///{tmp_path / 'metadata.db'}",
    }


def test_report_command_writes_json_and_markdown(
    cli_env: dict[str, str], lake: Lakehouse, tmp_path: Path
) -> None:
    MetadataStore(cli_env["DATAPLATFORM_DATABASE_URL"]).upgrade()
    lake.append(
        BRONZE, pa.concat_tables([app_events("a", "b"), app_events("c", os_name="Android")])
    )
    output = tmp_path / "report.json"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "report", *args], env=cli_env, capture_output=True, text=True, timeout=120
        )

    to_file = run("--format", "json", "--output", str(output))
    to_stdout = run("--format", "markdown")
    wrong = run("--format", "pdf")

    assert to_file.returncode == 0, to_file.stderr
    written = json.loads(output.read_text())
    bronze = next(
        table
        for table in written["products"]["mobile-user-analytics"]["tables"]
        if table["table"] == BRONZE
    )
    assert (bronze["rows"], bronze["rows_added_24h"]) == (3, 3)
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert f"| {BRONZE} | 3 | 3 | " in to_stdout.stdout
    assert wrong.returncode != 0
    assert "pdf" in wrong.stderr
