import pytest

from compliance_auditing.product import product
from dataplatform.core.errors import ConfigError
from dataplatform.testing import check_product_contract


def test_meets_the_product_contract(lake) -> None:  # type: ignore[no-untyped-def]
    check_product_contract(product, lake)

    assert product.prefix == "/compliance"
    assert [job.name for job in product.jobs] == ["enforce_retention"]


def test_a_bad_setting_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_COMPLIANCE_AUDITING_ERASURE_DEADLINE_DAYS", "soon")

    with pytest.raises(ConfigError) as error:
        product.settings("dev")

    assert "`erasure_deadline_days` = 'soon'" in str(error.value)
    assert "valid integer" in str(error.value)


def test_keeps_its_own_records_for_seven_years() -> None:
    kept = {t.name: t.retention_days for t in product.tables}

    assert kept["gold.column_reads"] == 7 * 365
    assert kept["gold.erasure_requests"] == 7 * 365
    assert kept["gold.retention_runs"] == 7 * 365


def test_keeps_no_raw_id_of_an_erased_person() -> None:
    erasures = next(t for t in product.tables if t.name == "gold.erasure_requests")

    assert erasures.schema is not None
    assert "subject_hash" in erasures.schema.names
    assert not {"user_id", "subject_id"} & set(erasures.schema.names)
    assert erasures.pii == ("subject_hash", "requested_by")
