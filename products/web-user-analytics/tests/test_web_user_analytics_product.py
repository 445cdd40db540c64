import pytest

from dataplatform.core.errors import ConfigError
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.testing import check_product_contract
from web_user_analytics.product import product


def test_meets_the_product_contract(lake) -> None:  # type: ignore[no-untyped-def]
    check_product_contract(product, lake)

    assert product.prefix == "/web"


def test_a_bad_setting_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_WEB_USER_ANALYTICS_REPORTING_TIMEZONE", "Mars/Olympus")

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert "`reporting_timezone` = 'Mars/Olympus'" in str(error.value)
    assert "not an IANA timezone name" in str(error.value)


def test_clickstream_lands_in_bronze_in_the_canonical_envelope() -> None:
    (stream,) = product.streams
    bronze = next(table for table in product.tables if table.name == stream.table)

    assert product.table_name(stream.table) == "web_user_analytics.bronze.clickstream"
    assert set(stream.source_kinds) == {"web", "server"}
    assert bronze.schema == ENVELOPE_SCHEMA


def test_dev_environment_runs_models_more_often(monkeypatch: pytest.MonkeyPatch) -> None:
    assert product.settings("dev").schedule_seconds == 10
    assert product.settings("prod").schedule_seconds == 60

    monkeypatch.setenv("DATAPLATFORM_WEB_USER_ANALYTICS_SCHEDULE_SECONDS", "5")
    assert product.settings("prod").schedule_seconds == 5
