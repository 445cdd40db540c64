import pytest

from dataplatform.core.errors import ConfigError
from dataplatform.testing import check_product_contract
from operational_metrics.product import product


def test_meets_the_product_contract(lake) -> None:  # type: ignore[no-untyped-def]
    check_product_contract(product, lake)

    assert product.prefix == "/ops"


def test_a_bad_setting_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_OPERATIONAL_METRICS_FAST_BURN_RATE", "0.5")

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert "`fast_burn_rate` = '0.5'" in str(error.value)
    assert "greater than 1" in str(error.value)


def test_an_alerts_short_window_must_be_shorter_than_its_long_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAPLATFORM_OPERATIONAL_METRICS_SLOW_BURN_SHORT_WINDOW_MINUTES", "360")

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert (
        "`slow_burn_short_window_minutes` (360) must be shorter than "
        "`slow_burn_long_window_minutes` (360)"
    ) in str(error.value)


def test_models_run_every_10_seconds_with_the_workbooks_burn_rate_alerts() -> None:
    settings = product.settings("prod")

    assert settings.schedule_seconds == 10
    assert (settings.fast_burn_rate, settings.slow_burn_rate) == (14.4, 6.0)
    assert {slo.name: slo.indicator for slo in settings.slos} == {
        "metrics_freshness": "freshness_seconds",
        "api_latency": "latency_ms",
        "availability": "availability",
    }
