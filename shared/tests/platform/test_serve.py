"""A product served alone (`dataplatform serve --product NAME`) has the gateway's auth and probes."""

from collections.abc import Iterator

import httpx2 as httpx
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.product import get_product
from dataplatform.platform.collector import serve_in_background
from dataplatform.platform.serve import product_app
from dataplatform.testing import TEST_JWT_SECRET


@pytest.fixture
def product_url(lake_root, sqlite_url, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATAPLATFORM_LAKE_ROOT", str(lake_root))
    monkeypatch.setenv("DATAPLATFORM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DATAPLATFORM_AUTH__JWT_SECRET", TEST_JWT_SECRET)
    MetadataStore(sqlite_url).upgrade()
    app = product_app(get_product("mobile-user-analytics"))
    services = app.state.services
    services.auth.users.create("owner", "a-long-password-1", ["mobile-user-analytics-owner"], "t")
    services.auth.users.create("web-owner", "a-long-password-2", ["web-user-analytics-owner"], "t")
    with serve_in_background(app) as url:
        yield url


def token(url: str, username: str, password: str) -> dict[str, str]:
    response = httpx.post(f"{url}/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_probes_answer_without_a_credential_and_name_the_product(product_url: str) -> None:
    live = httpx.get(f"{product_url}/health")
    ready = httpx.get(f"{product_url}/ready")

    assert live.json() == {"status": "ok"}
    assert ready.status_code == 200
    product = ready.json()["products"]["mobile-user-analytics"]
    checks = {check["name"]: check for check in product["checks"]}
    assert checks["lake_writable"]["status"] == "ok"
    declared = len(get_product("mobile-user-analytics").tables)
    assert f"0 of {declared} tables readable" in checks["tables_readable"]["detail"]
    assert list(ready.json()["products"]) == ["mobile-user-analytics"]


def test_data_routes_need_the_products_permission(product_url: str) -> None:
    owner = token(product_url, "owner", "a-long-password-1")
    other = token(product_url, "web-owner", "a-long-password-2")

    assert httpx.get(f"{product_url}/mobile/tables").status_code == 401
    assert httpx.get(f"{product_url}/mobile/tables", headers=other).status_code == 403
    listed = httpx.get(f"{product_url}/mobile/tables", headers=owner)
    assert listed.status_code == 200
    assert "user_summary" in [table["name"] for table in listed.json()["tables"]]
    # Only this product is served: the others' routes are not here.
    assert httpx.get(f"{product_url}/web/tables", headers=owner).status_code == 404


def test_readiness_fails_with_503_when_the_lake_cannot_be_written(
    lake_root, sqlite_url, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    lake_root.parent.mkdir(parents=True, exist_ok=True)
    lake_root.write_text("a file where the lake folder should be")
    monkeypatch.setenv("DATAPLATFORM_LAKE_ROOT", str(lake_root))
    monkeypatch.setenv("DATAPLATFORM_DATABASE_URL", sqlite_url)
    MetadataStore(sqlite_url).upgrade()

    with serve_in_background(product_app(get_product("mobile-user-analytics"))) as url:
        ready = httpx.get(f"{url}/ready")

    assert ready.status_code == 503
    checks = ready.json()["products"]["mobile-user-analytics"]["checks"]
    assert [c["name"] for c in checks if c["status"] == "failing"] == ["lake_writable"]


def test_metrics_need_the_metrics_permission(product_url: str) -> None:
    owner = token(product_url, "owner", "a-long-password-1")

    assert httpx.get(f"{product_url}/metrics").status_code == 401
    assert httpx.get(f"{product_url}/metrics", headers=owner).status_code == 403
