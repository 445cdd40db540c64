"""The browser the console's tests drive: Debian's Chromium through Playwright."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from console_browser import VENDOR

from dataplatform.testing import CHROMIUM, CHROMIUM_ARGS, service_missing

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture
def browser() -> "Iterator[Browser]":
    if not CHROMIUM.exists():
        service_missing(
            f"Chromium is not installed at {CHROMIUM}: run infrastructure/local/browser.sh"
        )
    if not (VENDOR / "echarts.min.js").exists():
        service_missing("The console's libraries are missing: run `make install`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        yield launched
        launched.close()
