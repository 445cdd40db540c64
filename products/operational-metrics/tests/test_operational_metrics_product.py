import pytest

from dataplatform.core.errors import ConfigError
from dataplatform.testing import check_product_contract
from operational_metrics.product import product


def test_meets_the_product_contract(lake) -> None:  # type: ignore[no-untyped-def]
    check_product_contract(product, lake)

    assert product.prefix == "/ops"


def test_a_bad_setting_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_OPERATIONAL_METRICS_COLLECT_INTERVAL_SECONDS", "-5")

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert "`collect_interval_seconds` = '-5'" in str(error.value)
    assert "greater than 0" in str(error.value)


def test_tracks_slos_with_a_target_and_threshold() -> None:
    slos = {slo.name: slo for slo in product.settings("prod").slos}

    assert slos["metrics_freshness"].threshold == 120
    assert slos["availability"].target == 0.999
    assert "gold.slo_status" in {table.name for table in product.tables}
