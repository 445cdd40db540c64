import pytest

from dataplatform.core.errors import ConfigError
from dataplatform.testing import check_product_contract
from user_segmentation.product import product


def test_meets_the_product_contract(lake) -> None:  # type: ignore[no-untyped-def]
    check_product_contract(product, lake)

    assert product.prefix == "/segments"


def test_a_bad_setting_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_USER_SEGMENTATION_CLUSTER_COUNT", "1")

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert "`cluster_count` = '1'" in str(error.value)
    assert "greater than or equal to 2" in str(error.value)


def test_reads_published_tables_and_accepts_no_events() -> None:
    assert product.streams == ()
    assert {table.name.split(".")[0] for table in product.tables} == {"silver", "gold"}
    assert "person_id" in next(t for t in product.tables if t.name == "gold.user_features").pii
