import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from dataplatform.core.config import ENVIRONMENTS
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.errors import ConfigError
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.core.processing import ModelRunner
from dataplatform.testing import check_product_contract
from mobile_user_analytics.product import product


def test_meets_the_product_contract(lake) -> None:  # type: ignore[no-untyped-def]
    check_product_contract(product, lake)

    assert product.prefix == "/mobile"


def test_a_bad_setting_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_MOBILE_USER_ANALYTICS_SESSION_TIMEOUT_MINUTES", "0")

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert "`session_timeout_minutes` = '0'" in str(error.value)
    assert "greater than 0" in str(error.value)


def test_app_events_land_in_bronze_in_the_canonical_envelope() -> None:
    (stream,) = product.streams
    bronze = next(table for table in product.tables if table.name == stream.table)

    assert product.table_name(stream.table) == "mobile_user_analytics.bronze.app_events"
    assert set(stream.source_kinds) == {"ios", "android", "server"}
    assert bronze.schema == ENVELOPE_SCHEMA
    assert "user_id" in bronze.pii


def test_defaults_follow_the_product_definition() -> None:
    settings = product.settings("prod")

    assert settings.session_timeout_minutes == 30
    assert settings.retention_days == [1, 7, 14, 30]


def test_models_run_every_5_s_in_every_environment_well_within_the_freshness_slo() -> None:
    for environment in ENVIRONMENTS:
        settings = product.settings(environment)
        (freshness,) = [slo for slo in settings.slos if slo.indicator == "freshness_seconds"]

        assert (settings.schedule_seconds, freshness.threshold) == (5, 60), environment


def test_retention_days_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_MOBILE_USER_ANALYTICS_RETENTION_DAYS", "[1, 0]")

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert "`retention_days.1` = 0" in str(error.value)


def envelope(event_id: str, seconds: int, os_name: str = "iOS") -> dict[str, object]:
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC) + timedelta(seconds=seconds)
    context = {
        "app": {"version": "3.2.1"},
        "device": {"id": "device-1"},
        "os": {"name": os_name, "version": "18.1"},
        "sessionId": "session-1",
    }
    return {
        "event_id": event_id,
        "type": "track",
        "event": "purchase",
        "user_id": "user-1",
        "anonymous_id": "install-1",
        "timestamp": at,
        "original_timestamp": at,
        "sent_at": at,
        "received_at": at + timedelta(seconds=1),
        "source_id": "ios-app",
        "wire_format": "segment",
        "context": json.dumps(context),
        "properties": json.dumps({"revenue": 9.99}),
        "raw": "{}",
    }


def test_silver_app_events_are_typed_and_each_event_id_kept_once(lake, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    store = MetadataStore(sqlite_url)
    store.upgrade()
    runner = ModelRunner(product.model_graph(), lake, store)
    bronze = "mobile_user_analytics.bronze.app_events"
    lake.append(
        bronze,
        pa.Table.from_pylist(
            [envelope("a", 0), envelope("a", 0), envelope("b", 5, "Android")], ENVELOPE_SCHEMA
        ),
    )
    runner.run(["silver.app_events"])
    lake.append(
        bronze,
        pa.Table.from_pylist([envelope("b", 5, "Android"), envelope("c", 9)], ENVELOPE_SCHEMA),
    )
    runner.run(["silver.app_events"])

    silver = lake.read("mobile_user_analytics.silver.app_events").sort_by("event_id").to_pylist()
    assert [row["event_id"] for row in silver] == ["a", "b", "c"]  # retries in and across batches
    assert [row["platform"] for row in silver] == ["ios", "android", "ios"]
    assert silver[0]["app_version"] == "3.2.1" and silver[0]["device_id"] == "device-1"
    assert silver[0]["session_id"] == "session-1" and silver[0]["os_version"] == "18.1"


def test_event_roles_default_to_the_sdks_names_and_segments_spec() -> None:
    roles = product.settings("prod").event_roles

    assert roles.model_dump() == {
        "app_open": ["app_open", "Application Opened"],
        "app_background": ["app_background", "Application Backgrounded"],
        "screen_view": ["Screen Viewed"],
        "tap": ["tap"],
        "add_to_cart": ["add_to_cart", "Product Added"],
        "purchase": ["purchase", "Order Completed"],
        "crash": ["crash", "Application Crashed"],
    }


def test_an_event_role_set_alone_keeps_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DATAPLATFORM_MOBILE_USER_ANALYTICS_EVENT_ROLES", '{"purchase": ["Subscription Started"]}'
    )

    roles = product.settings("dev").event_roles

    assert roles.purchase == ["Subscription Started"]
    assert roles.crash == ["crash", "Application Crashed"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('{"refunds": ["Order Refunded"]}', "unknown role `refunds`; the roles are app_open"),
        ('{"crashes": ["crash"]}', "Did you mean `crash`?"),
        ('{"tap": ["Order Completed"]}', "`Order Completed` is given two roles, tap and purchase"),
        ('{"tap": [""]}', "at least 1 character"),
    ],
)
def test_a_bad_event_role_is_refused_at_load_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("DATAPLATFORM_MOBILE_USER_ANALYTICS_EVENT_ROLES", value)

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert "`event_roles" in str(error.value)
    assert reason in str(error.value)
