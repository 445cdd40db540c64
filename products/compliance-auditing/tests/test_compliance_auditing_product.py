import pytest

from compliance_auditing.product import product
from dataplatform.core.errors import ConfigError
from dataplatform.testing import check_product_contract


def test_meets_the_product_contract(lake) -> None:  # type: ignore[no-untyped-def]
    check_product_contract(product, lake)

    assert product.prefix == "/compliance"


def test_a_bad_setting_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_COMPLIANCE_AUDITING_ERASURE_DEADLINE_DAYS", "soon")

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert "`erasure_deadline_days` = 'soon'" in str(error.value)
    assert "valid integer" in str(error.value)


def test_keeps_its_own_records_for_seven_years() -> None:
    access_report = next(t for t in product.tables if t.name == "gold.access_report")

    assert access_report.retention_days == 2555
    assert product.settings("prod").audit_retention_days == 2555
