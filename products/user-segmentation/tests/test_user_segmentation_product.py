import pytest

from dataplatform.core.errors import ConfigError
from dataplatform.testing import check_product_contract
from user_segmentation.product import product


def test_meets_the_product_contract(lake) -> None:  # type: ignore[no-untyped-def]
    check_product_contract(product, lake)

    assert product.prefix == "/segments"
    assert [job.name for job in product.jobs] == ["train_segments"]


def test_a_bad_setting_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_USER_SEGMENTATION_MIN_CLUSTERS", "1")

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert "`min_clusters` = '1'" in str(error.value)
    assert "greater than or equal to 2" in str(error.value)


def test_the_cluster_range_and_features_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_USER_SEGMENTATION_MIN_CLUSTERS", "6")
    monkeypatch.setenv("DATAPLATFORM_USER_SEGMENTATION_MAX_CLUSTERS", "5")
    with pytest.raises(ConfigError, match=r"min_clusters \(6\) must not exceed max_clusters \(5\)"):
        product.settings("dev")

    monkeypatch.delenv("DATAPLATFORM_USER_SEGMENTATION_MIN_CLUSTERS")
    monkeypatch.setenv("DATAPLATFORM_USER_SEGMENTATION_CLUSTER_FEATURES", '["last_platform"]')
    with pytest.raises(ConfigError, match=r"\['last_platform'\] are not numeric features"):
        product.settings("dev")


def test_reads_published_tables_and_accepts_no_events() -> None:
    assert product.streams == ()
    assert {table.name.split(".")[0] for table in product.tables} == {"silver", "gold"}
    assert "person_id" in next(t for t in product.tables if t.name == "gold.user_features").pii
