"""A product's configuration saved while gateways run: every gateway process swaps the product's
router for one built under the new settings, without a restart and without dropping a request.

The `greeting` product answers `GET /greeting/hello` with its `greeting` setting; `?hold=true`
keeps the request in its handler until the test lets it go, so a swap can happen meanwhile. A
greeting of `boom` makes its router fail to build.
"""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import APIRouter

from dataplatform.core.access import public
from dataplatform.core.config import ProductSettings
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.product import Product
from dataplatform.core.product_config import ProductConfigs
from dataplatform.core.product_context import ProductContext
from dataplatform.platform.collector import serve_in_background
from dataplatform.platform.gateway import Services, create_product_app
from dataplatform.testing import platform_settings

# A held request waits at most this long for the test to let it go (a slow machine's margin).
HOLD_SECONDS = 60


class GreetingSettings(ProductSettings):
    greeting: str = "hello"


@dataclass
class Hold:
    """Lets a test keep a request inside its handler: `entered` once it is, `release` to end."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


def greeting_product(folder: Path, hold: Hold) -> Product:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "product_config.yaml").write_text("greeting: hello\n")

    def create_router(context: ProductContext[GreetingSettings]) -> APIRouter:
        greeting = context.settings.greeting
        if greeting == "boom":
            raise ValueError("the greeting `boom` cannot be said")
        router = APIRouter()

        @router.get("/hello", dependencies=[public("a test route")])
        def hello(hold_request: bool = False) -> dict[str, str]:
            if hold_request:
                hold.entered.set()
                hold.release.wait(HOLD_SECONDS)
            return {"greeting": greeting}

        return router

    return Product(
        name="greeting",
        owner="test-team",
        prefix="/greeting",
        description="Says its greeting.",
        config_dir=folder,
        settings_class=GreetingSettings,
        router=create_router,
    )


@dataclass
class Gateways:
    """Two gateway processes' apps over one metadata store, as a gateway's workers are."""

    product: Product
    configs: ProductConfigs
    urls: list[str]
    hold: Hold

    def greeting(self, url: str, **params: Any) -> str:
        response = httpx.get(f"{url}/greeting/hello", params=params, timeout=HOLD_SECONDS)
        assert response.status_code == 200, response.text
        return str(response.json()["greeting"])

    def save(self, greeting: str) -> None:
        """Save a version as `dataplatform` and the admin API do."""
        self.configs.save(self.product, {"greeting": greeting}, "test")

    def configuration_check(self, url: str) -> dict[str, Any] | None:
        checks = httpx.get(f"{url}/ready").json()["products"]["greeting"]["checks"]
        return next((check for check in checks if check["name"] == "configuration"), None)


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[Gateways]:
    hold = Hold()
    product = greeting_product(tmp_path / "greeting", hold)
    # Versions looked at on every request: the request after a save sees it.
    settings = platform_settings(
        f"sqlite:///{tmp_path / 'platform.db'}",
        tmp_path / "lake",
        gateway={"config_check_seconds": 0},
    )
    store = MetadataStore(settings.database_url)
    store.upgrade()
    with ExitStack() as running:
        urls = [
            running.enter_context(
                serve_in_background(
                    create_product_app(Services.start(settings, [product]), product)
                )
            )
            for _ in range(2)
        ]
        try:
            yield Gateways(product, ProductConfigs(store), urls, hold)
        finally:
            hold.release.set()  # a failed test must not leave a request waiting
    store.dispose()


def test_a_saved_version_reaches_every_gateway_process(gateways: Gateways) -> None:
    assert [gateways.greeting(url) for url in gateways.urls] == ["hello", "hello"]

    gateways.save("bonjour")

    assert [gateways.greeting(url) for url in gateways.urls] == ["bonjour", "bonjour"]


def test_a_request_running_during_the_swap_is_answered_by_the_old_router(
    gateways: Gateways,
) -> None:
    url = gateways.urls[0]
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(gateways.greeting, url, hold_request=True)
        assert gateways.hold.entered.wait(HOLD_SECONDS), "the held request never arrived"

        gateways.save("bonjour")
        during = gateways.greeting(url)
        gateways.hold.release.set()

        assert (during, held.result(timeout=HOLD_SECONDS)) == ("bonjour", "hello")


def test_a_router_that_fails_to_build_keeps_the_old_one_and_shows_in_ready(
    gateways: Gateways,
) -> None:
    url = gateways.urls[0]
    gateways.save("bonjour")
    assert gateways.greeting(url) == "bonjour"
    assert gateways.configuration_check(url) is None

    gateways.save("boom")

    assert gateways.greeting(url) == "bonjour"
    assert gateways.configuration_check(url) == {
        "name": "configuration",
        "status": "degraded",
        "detail": "configuration version 2 could not be applied (ValueError: the greeting "
        "`boom` cannot be said); the API still serves version 1: save a corrected version",
    }

    gateways.save("hi")

    assert gateways.greeting(url) == "hi"
    assert gateways.configuration_check(url) is None
