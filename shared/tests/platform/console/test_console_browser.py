"""The console in Debian's Chromium, driven by Playwright, against a gateway on loopback whose
lake holds a week of generated web traffic: log in with the keyboard, read each chart's rows from
the page, log out. (test_console_pages.py opens every page of a whole platform.) Under CI=true a
missing browser fails."""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from console_browser import chart_rows, log_in_with_the_keyboard

from dataplatform.core.processing import ModelRunner
from dataplatform.core.product import get_product
from dataplatform.platform.generator import Volume, write_columns
from dataplatform.testing import RunningGateway

if TYPE_CHECKING:
    from playwright.sync_api import Browser

WEB = "web-user-analytics"
MOBILE = "mobile-user-analytics"
CLICKSTREAM = "web_user_analytics.bronze.clickstream"


@pytest.fixture
def web_gateway(gateway: RunningGateway) -> RunningGateway:
    """The gateway, its lake holding a week of web and app traffic run through the products'
    models."""
    services = gateway.services
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    write_columns(
        Volume(users=150, days=7, start=start - timedelta(days=6), seed=18),
        services.lake,
        {"web": CLICKSTREAM, "mobile": "mobile_user_analytics.bronze.app_events"},
    )
    for name in (WEB, MOBILE):
        product = get_product(name)
        graph = product.model_graph(product.context())
        runner = ModelRunner(graph, services.lake, services.store)
        failed = [r for rs in runner.run_until_caught_up() for r in rs if r.status == "failed"]
        assert not failed, failed
    return gateway


@pytest.mark.timeout(600)
def test_a_person_logs_in_reads_the_web_charts_and_logs_out(
    web_gateway: RunningGateway, browser: "Browser"
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))

    log_in_with_the_keyboard(page, web_gateway.url, web_gateway.admin_password)
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert len(chart_rows(page, "Events received per minute")) == 60  # live, a row a minute
    page.get_by_role("link", name="Traffic").click()
    page.wait_for_url(f"**/console/products/{WEB}/traffic")
    per_day = chart_rows(page, "Visitors, sessions and page views per day")
    chart_rows(page, "Revenue per day")

    assert len(per_day) == 7  # a row a day of the generated week
    assert all(
        int(visitors) > 0 and int(sessions) >= int(visitors) for _, visitors, sessions, _ in per_day
    )
    assert page.locator("figure.chart canvas").count() >= 3  # drawn, not only listed
    page.goto(f"{web_gateway.url}/console/products/{WEB}/content")
    top_pages = chart_rows(page, "Top pages")
    assert top_pages and all(path.startswith("/") for path, *_ in top_pages)
    assert chart_rows(page, "Sessions by device")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/console/login")
    page.goto(f"{web_gateway.url}/console")
    page.wait_for_url("**/console/login?next=/console")
    assert problems == []
