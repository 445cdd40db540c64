"""The `dataplatform` command, run as a real process the way an operator runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from dataplatform import __version__
from dataplatform.core.connectors.lakehouse import Lakehouse

CLI = str(Path(sys.executable).with_name("dataplatform"))
TABLE = "web_user_analytics.bronze.clickstream"


@pytest.fixture
def run(tmp_path: Path, lake_root: Path):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(lake_root),
        "DATAPLATFORM_DATABASE_URL": f"sqlite:///{tmp_path / 'metadata.db'}",
        "COLUMNS": "200",
    }

    def run(
        *args: str, env_overrides: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *args],
            env={**env, **(env_overrides or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_version(run) -> None:  # type: ignore[no-untyped-def]
    assert ok(run("version")).strip() == __version__


def test_snapshot_create_list_restore_round_trip(run, lake: Lakehouse) -> None:  # type: ignore[no-untyped-def]
    ok(run("db", "upgrade"))
    lake.append(TABLE, pa.table({"id": [1, 2]}))
    ok(run("snapshot", "create", "before-change"))
    lake.delete(TABLE, "id = 1")

    listed = ok(run("snapshot", "list"))
    restored = ok(run("snapshot", "restore", "before-change"))

    assert "before-change" in listed
    assert f"restored {TABLE} to version 0" in restored
    assert sorted(lake.read(TABLE)["id"].to_pylist()) == [1, 2]


def test_lake_tables_history_compact_vacuum(run, lake: Lakehouse) -> None:  # type: ignore[no-untyped-def]
    ok(run("db", "upgrade"))
    for value in range(3):
        lake.append(TABLE, pa.table({"id": [value]}))

    assert TABLE in ok(run("lake", "tables"))
    assert "WRITE" in ok(run("lake", "history", TABLE, "--limit", "2"))
    assert "3 files compacted into 1" in ok(run("lake", "compact", TABLE))
    assert "0 files would be deleted" in ok(run("lake", "vacuum", TABLE, "--dry-run"))
    assert sorted(lake.read(TABLE)["id"].to_pylist()) == [0, 1, 2]


def test_config_show_redacts_secrets(run) -> None:  # type: ignore[no-untyped-def]
    shown = ok(
        run(
            "config",
            "show",
            "--product",
            "web-user-analytics",
            env_overrides={"DATAPLATFORM_DATABASE_URL": "postgresql://app:hunter2@db/meta"},
        )
    )

    settings = json.loads(shown)
    assert settings["platform"]["database_url"] == "postgresql://app:***@db/meta"
    assert settings["web-user-analytics"]["reporting_timezone"] == "UTC"
    assert "hunter2" not in shown


def test_a_bad_setting_stops_with_the_key_and_no_traceback(run) -> None:  # type: ignore[no-untyped-def]
    result = run("lake", "tables", env_overrides={"DATAPLATFORM_LOG_LEVEL": "LOUD"})

    assert result.returncode == 1
    assert "[config_error]" in result.stderr
    assert "`log_level` = 'LOUD' from environment variable DATAPLATFORM_LOG_LEVEL" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_snapshot_is_a_clear_error(run) -> None:  # type: ignore[no-untyped-def]
    ok(run("db", "upgrade"))

    result = run("snapshot", "restore", "nope")

    assert result.returncode == 1
    assert "No snapshot labelled `nope`" in result.stderr


def test_db_downgrade_to_base_and_back(run) -> None:  # type: ignore[no-untyped-def]
    assert "revision 0009" in ok(run("db", "upgrade"))
    assert "revision None" in ok(run("db", "downgrade", "base"))
    result = run("snapshot", "list")
    assert result.returncode == 1 and "dataplatform db upgrade" in result.stderr


def test_sources_create_list_revoke(run) -> None:  # type: ignore[no-untyped-def]
    ok(run("db", "upgrade"))

    created = ok(
        run("sources", "create", "ios-app", "--kind", "ios", "--product", "mobile-user-analytics")
    )
    write_key = created.split("write key: ")[1].split()[0]
    listed = ok(run("sources", "list"))
    revoked = ok(run("sources", "revoke", "ios-app"))
    after = ok(run("sources", "list"))

    assert len(write_key) >= 32
    assert f"{write_key[:8]}..." in listed and write_key not in listed
    assert "ios-app revoked" in revoked
    assert "revoked 20" in after


def test_a_source_for_a_product_that_takes_no_such_events_is_refused(run) -> None:  # type: ignore[no-untyped-def]
    ok(run("db", "upgrade"))

    result = run("sources", "create", "site", "--kind", "web", "--product", "mobile-user-analytics")

    assert result.returncode == 1
    assert "accepts no `web` events; products that do: web-user-analytics" in result.stderr


def test_models_run_list_graph_and_backfill(run, lake: Lakehouse) -> None:  # type: ignore[no-untyped-def]
    product = ("--product", "mobile-user-analytics")
    silver = "mobile_user_analytics.silver.app_events"
    ok(run("db", "upgrade"))
    ok(run("generate", "--users", "10", "--days", "1"))
    bronze = lake.read("mobile_user_analytics.bronze.app_events")

    first = ok(run("models", "run", *product))
    again = ok(run("models", "run", *product))
    listed = ok(run("models", "list", *product))
    graph = ok(run("models", "graph", *product))
    day = bronze["timestamp"].to_pylist()[0].date().isoformat()
    backfilled = ok(run("models", "backfill", *product, "--from", day, "--to", f"{day}T23:59:59"))

    assert "succeeded" in first and "up_to_date" in again and "succeeded" in backfilled
    assert lake.read(silver).num_rows == len(set(bronze["event_id"].to_pylist()))
    assert "silver.app_events" in listed and "#1 succeeded" in listed
    assert f"{silver} <- mobile_user_analytics.bronze.app_events" in graph.splitlines()


@pytest.mark.parametrize(
    ("bound", "passes"),
    [("2", ["pass 1: 2 rows read", "caught up in 3 passes, 5 rows read"]), ("none", [])],
)
def test_models_run_reads_a_long_history_in_passes_of_bounded_rows(  # type: ignore[no-untyped-def]
    run, lake: Lakehouse, bound: str, passes: list[str]
) -> None:
    from dataplatform.testing import MOBILE, app_events

    ok(run("db", "upgrade"))
    for ids in (["a", "b"], ["c", "d"], ["e"]):  # three commits: a run reads whole commits
        lake.append(MOBILE, app_events(*ids))
    silver = ("--product", "mobile-user-analytics", "--model", "silver.app_events")

    printed = ok(
        run(
            "models", "run", *silver, env_overrides={"DATAPLATFORM_MODELS__MAX_ROWS_PER_RUN": bound}
        )
    )

    for line in passes:
        assert line in printed
    assert ("stopped short" in printed) == bool(passes)
    assert ("caught up in" in printed) == bool(passes)
    assert lake.read("mobile_user_analytics.silver.app_events").num_rows == 5


def test_models_run_fails_loudly_on_an_unknown_model(run) -> None:  # type: ignore[no-untyped-def]
    ok(run("db", "upgrade"))

    result = run(
        "models", "run", "--product", "mobile-user-analytics", "--model", "silver.app_event"
    )

    assert result.returncode == 1
    assert "Did you mean `silver.app_events`" in result.stderr


def test_models_run_with_the_configuration_stored_through_the_admin_api(  # type: ignore[no-untyped-def]
    run, lake: Lakehouse, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.product import get_product
    from dataplatform.core.product_config import ProductConfigs
    from dataplatform.testing import MOBILE, app_events

    ok(run("db", "upgrade"))
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    # Sessions end after 2 minutes without events instead of the files' 30.
    ProductConfigs(store).save(
        get_product("mobile-user-analytics"), {"session_timeout_minutes": 2}, "test"
    )
    store.dispose()
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    lake.append(MOBILE, app_events("a", at=at))
    lake.append(MOBILE, app_events("b", at=at + timedelta(minutes=5)))

    ok(run("models", "run", "--product", "mobile-user-analytics", "--model", "silver.app_events"))
    ok(run("models", "run", "--product", "mobile-user-analytics", "--model", "silver.sessions"))

    # Five minutes apart: one session under the files' 30 minutes, two under the stored 2.
    assert lake.read("mobile_user_analytics.silver.sessions").num_rows == 2
