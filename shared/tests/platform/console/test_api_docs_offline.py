"""The gateway's API documentation (`/docs`, Swagger UI) renders from its own files: in Chromium
with every request off loopback refused, the page draws the API's operations."""

from typing import TYPE_CHECKING

import httpx2 as httpx

from dataplatform.testing import RunningGateway

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route


def test_the_api_docs_render_with_the_network_closed(
    browser: "Browser", gateway: RunningGateway
) -> None:
    context = browser.new_context()
    refused: list[str] = []

    def only_the_gateway(route: "Route") -> None:
        if route.request.url.startswith(gateway.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_gateway)
    page = context.new_page()
    page.goto(f"{gateway.url}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".swagger-ui .info .title").inner_text().strip() != ""
    assert page.locator(".swagger-ui .opblock").count() > 50
    assert refused == []
    context.close()


def test_the_docs_page_names_only_its_own_files(gateway: RunningGateway) -> None:
    html = httpx.get(f"{gateway.url}/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert httpx.get(f"{gateway.url}/docs/assets/swagger-ui.css").status_code == 200
    missing = httpx.get(f"{gateway.url}/docs/assets/secrets.txt")
    assert missing.status_code == 404 and "secrets.txt" in missing.text
    assert httpx.get(f"{gateway.url}/redoc").status_code == 404
