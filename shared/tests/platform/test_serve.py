import pytest
from fastapi.testclient import TestClient

from dataplatform.core.product import get_product
from dataplatform.platform.serve import product_app


@pytest.fixture
def client(lake_root, monkeypatch: pytest.MonkeyPatch) -> TestClient:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATAPLATFORM_LAKE_ROOT", str(lake_root))
    return TestClient(product_app(get_product("mobile-user-analytics")))


def test_liveness_and_readiness_answer_without_a_credential(client: TestClient) -> None:
    live = client.get("/health")
    ready = client.get("/ready")

    assert live.json() == {"status": "ok", "product": "mobile-user-analytics"}
    assert ready.status_code == 200
    checks = {check["name"]: check for check in ready.json()["checks"]}
    assert checks["lake_writable"]["status"] == "ok"
    assert "0 of 8 tables readable" in checks["tables_readable"]["detail"]


def test_readiness_fails_with_503_when_the_lake_cannot_be_written(
    lake_root, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    lake_root.parent.mkdir(parents=True, exist_ok=True)
    lake_root.write_text("a file where the lake folder should be")
    monkeypatch.setenv("DATAPLATFORM_LAKE_ROOT", str(lake_root))
    client = TestClient(product_app(get_product("mobile-user-analytics")))

    ready = client.get("/ready")

    assert ready.status_code == 503
    failing = [check for check in ready.json()["checks"] if check["status"] == "failing"]
    assert [check["name"] for check in failing] == ["lake_writable"]


def test_metrics_are_exposed_for_prometheus(client: TestClient) -> None:
    response = client.get("/metrics")

    assert response.status_code == 200
    assert "dataplatform_operation_duration_seconds" in response.text
