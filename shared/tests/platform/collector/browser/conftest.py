"""The official browser SDKs, from their own npm bundles, in Debian's Chromium, against the collector.

The collector runs on one loopback port and the test pages on another, so every SDK request is
cross-origin and CORS is exercised for real. Chromium resolves no host but 127.0.0.1: an SDK that
reaches for the internet (a CDN, its vendor's API) fails the test instead of leaking a request.
"""

import base64
import contextlib
import functools
import gzip
import http.server
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import pytest

from dataplatform import testing
from dataplatform.testing import CHROMIUM, WEB, platform_settings, service_missing

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Playwright

    from dataplatform.core.connectors.lakehouse import Lakehouse

HERE = Path(__file__).parent
NODE_MODULES = HERE / "node_modules"
INSTALL = "run `infrastructure/local/browser.sh` (or `make test`, which runs it)"
# What a real user's Chromium sends: no "HeadlessChrome", which posthog-js takes for a bot.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36"
)
CHROMIUM_ARGS = [
    *testing.CHROMIUM_ARGS,
    # navigator.webdriver stays false, as in a browser a person drives.
    "--disable-blink-features=AutomationControlled",
]
# Sources of the module's collector: one `web` source per SDK and mode, so that each test finds
# its own rows in the shared bronze table by `source_id`.
# Generous: a slow machine must never fail a test that would pass; a passing test never waits it.
BRONZE_DEADLINE_SECONDS = 60
SOURCES = (
    "segment-default",
    "segment-batching",
    "segment-keepalive",
    "posthog-autocapture",
    "rudderstack-default",
    "rudderstack-beacon",
)


def require_browser_parts() -> None:
    """Skip (or fail under CI=true) unless Chromium and the SDKs' npm packages are installed."""
    if not CHROMIUM.exists():
        service_missing(f"Chromium is not installed at {CHROMIUM}: {INSTALL}")
    if not NODE_MODULES.is_dir():
        service_missing(f"The browser SDKs are not installed in {NODE_MODULES}: {INSTALL}")


@dataclass
class CollectorRequest:
    """One request as the collector received it, and the status it answered."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None

    @property
    def refused(self) -> bool:
        """Answered with a 4xx or 5xx."""
        return self.status is not None and self.status >= 400

    def decoded_body(self) -> str:
        """The body as the SDK meant it: base64, gzip, form fields unwrapped where present."""
        return decode_body(self.body, self.headers.get("content-type", ""), self.query)


class RecordingMiddleware:
    """ASGI middleware that keeps every request reaching the collector, with its answer's status.

    The browser side cannot always see a request made as the page unloads (a beacon outlives its
    page); the server side always can.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[CollectorRequest] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = CollectorRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            body=b"",
        )
        self.requests.append(record)

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                record.body += message.get("body", b"")
            return message

        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        await self.app(scope, recording_receive, recording_send)


@dataclass
class BrowserCollector:
    """The module's collector: its URL, its lake, a write key per source, what it received."""

    url: str
    lake: "Lakehouse"
    keys: dict[str, str]
    received: list[CollectorRequest]

    def bronze(self, source: str) -> list[dict[str, Any]]:
        """The bronze clickstream rows of `source` (none while the table does not exist)."""
        if not self.lake.exists(WEB):
            return []
        return [row for row in self.lake.read(WEB).to_pylist() if row["source_id"] == source]

    def wait_for_bronze(self, source: str, count: int, since: int) -> None:
        """Until `source` has `count` rows, the deadline passes, or the collector has refused
        one of the requests received since index `since` (then some event is lost already)."""
        deadline = time.monotonic() + BRONZE_DEADLINE_SECONDS
        while len(self.bronze(source)) < count and time.monotonic() < deadline:
            if any(request.refused for request in self.received[since:]):
                return
            time.sleep(0.2)


@pytest.fixture(scope="module")
def browser_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserCollector]:
    """The collector as `dataplatform serve --collector` builds it, on SQLite and a fresh lake."""
    require_browser_parts()
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse
    from dataplatform.platform.collector import collector_app, serve_in_background
    from dataplatform.platform.sources import SourceRegistry

    folder = tmp_path_factory.mktemp("browser-collector")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    store = MetadataStore(settings.database_url)
    store.upgrade()
    registry = SourceRegistry(store)
    keys = {name: registry.create(name, "web", "web-user-analytics")[1] for name in SOURCES}
    recorder = RecordingMiddleware(collector_app(settings))
    with serve_in_background(recorder) as url:
        yield BrowserCollector(url, Lakehouse(settings.lake_root), keys, recorder.requests)
    store.dispose()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests of the pages are not worth a line each on stderr."""


@pytest.fixture(scope="module")
def page_server() -> Iterator[str]:
    """A second loopback origin serving this folder: the test pages and the SDKs' bundles."""
    require_browser_parts()
    handler = functools.partial(_QuietHandler, directory=str(HERE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="test-pages", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def playwright_driver() -> "Iterator[Playwright]":
    """Playwright's driver; it drives /usr/bin/chromium and never downloads a browser."""
    require_browser_parts()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def chromium(playwright_driver: "Playwright", tmp_path: Path) -> "Iterator[BrowserContext]":
    """A fresh Chromium (empty profile in `tmp_path`) that looks like a person's browser."""
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        # Playwright's own automation flag makes posthog-js drop every event as a bot's.
        ignore_default_args=["--enable-automation"],
        user_agent=USER_AGENT,
        headless=True,
    )
    try:
        yield context
    finally:
        context.close()  # a no-op when the test closed it first


@pytest.fixture
def requested_urls(chromium: "BrowserContext") -> list[str]:
    """The URL of every request Chromium makes in the test, beacons and subresources included."""
    urls: list[str] = []
    chromium.on("request", lambda request: urls.append(request.url))
    return urls


class InFlight:
    """The requests Chromium has started and not yet seen answered (or failed)."""

    def __init__(self, context: "BrowserContext") -> None:
        self.pending: set[int] = set()
        context.on("request", lambda request: self.pending.add(id(request)))
        context.on("requestfinished", lambda request: self.pending.discard(id(request)))
        context.on("requestfailed", lambda request: self.pending.discard(id(request)))

    def wait_until_none(self, page: "Page") -> None:
        """Until no request is in flight: leaving then cuts none of them short."""
        deadline = time.monotonic() + BRONZE_DEADLINE_SECONDS
        while self.pending and time.monotonic() < deadline:
            page.wait_for_timeout(50)  # lets Playwright deliver the browser's events
        assert not self.pending, f"{len(self.pending)} requests still unanswered at the deadline"


@pytest.fixture
def in_flight(chromium: "BrowserContext") -> InFlight:
    """What Chromium has asked for and not yet been answered."""
    return InFlight(chromium)


def decode_body(body: bytes, content_type: str, query: str) -> str:
    """A request body made readable: posthog-js' `data` form field, base64 and gzip unwrapped."""
    if "application/x-www-form-urlencoded" in content_type:
        body = parse_qs(body.decode("latin-1")).get("data", [""])[0].encode("latin-1")
    if parse_qs(query).get("compression") == ["base64"]:
        with contextlib.suppress(ValueError):
            body = base64.b64decode(body + b"=" * (-len(body) % 4))
    if body[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, zlib.error):
            body = gzip.decompress(body)
    return body.decode("utf-8", errors="replace")
