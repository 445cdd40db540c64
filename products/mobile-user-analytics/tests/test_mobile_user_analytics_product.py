import pytest

from dataplatform.core.errors import ConfigError
from dataplatform.core.events import ENVELOPE_SCHEMA
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
