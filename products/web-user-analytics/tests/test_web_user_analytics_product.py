from pathlib import Path

import pytest

from dataplatform.core.config import load_settings
from dataplatform.core.errors import ConfigError
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.testing import check_product_contract
from web_user_analytics.product import product
from web_user_analytics.settings import WebUserAnalyticsSettings


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


def test_models_run_every_five_seconds_in_every_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Answers must include new events within seconds, and freshness is held to 60 s.
    assert [product.settings(env).schedule_seconds for env in ("dev", "staging", "prod")] == [5] * 3

    monkeypatch.setenv("DATAPLATFORM_WEB_USER_ANALYTICS_SCHEDULE_SECONDS", "2")
    assert product.settings("prod").schedule_seconds == 2


def test_slos_hold_freshness_latency_and_availability() -> None:
    slos = {slo.name: slo for slo in product.settings("prod").slos}

    assert (slos["gold_freshness"].indicator, slos["gold_freshness"].threshold) == (
        "freshness_seconds",
        60,
    )
    assert slos["gold_freshness"].target == 0.95
    assert (slos["api_latency"].indicator, slos["api_latency"].threshold) == ("latency_ms", 200)
    assert slos["api_latency"].target == 0.99
    assert (slos["availability"].indicator, slos["availability"].target) == ("availability", 0.999)


def test_the_checkout_funnel_is_configured() -> None:
    (funnel,) = product.settings("prod").funnels

    assert funnel.id == "checkout"
    assert [step.label for step in funnel.steps] == [
        "/",
        "/products/*",
        "/cart",
        "/checkout",
        "conversion",  # any event named in conversion_events
    ]
    assert funnel.steps[-1].conversion is True
    assert funnel.window_days is None  # the product's funnel_window_days applies


def test_a_configured_funnel_needs_two_steps_and_a_distinct_id(tmp_path: Path) -> None:
    config = tmp_path / "product_config.yaml"
    config.write_text(
        "funnels:\n"
        "  - {id: a, name: A, steps: [{page: /}, {page: /cart}]}\n"
        "  - {id: a, name: B, steps: [{page: /}, {page: /cart}]}\n"
    )
    with pytest.raises(ConfigError) as error:
        load_settings(WebUserAnalyticsSettings, config_file=config)
    assert "funnel ids must be distinct; repeated: a" in str(error.value)

    config.write_text("funnels:\n  - {id: a, name: A, steps: [{page: /}]}\n")
    with pytest.raises(ConfigError) as error:
        load_settings(WebUserAnalyticsSettings, config_file=config)
    assert "funnels" in str(error.value) and "at least 2 items" in str(error.value)


def test_conversions_default_to_segments_order_completed_and_purchase() -> None:
    assert product.settings("prod").conversion_events == ["Order Completed", "purchase"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("[]", "conversion_events needs at least one event name"),
        ('["Order Completed", " "]', "conversion_events has a blank name at index 1"),
    ],
)
def test_a_bad_conversion_events_setting_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("DATAPLATFORM_WEB_USER_ANALYTICS_CONVERSION_EVENTS", value)

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert "`conversion_events`" in str(error.value)
    assert reason in str(error.value)
