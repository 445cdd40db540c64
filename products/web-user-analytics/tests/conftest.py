"""Fixtures for web-user-analytics: SDK payloads as analytics.js and posthog-js send them, put
into bronze by the collector's own normalisation, and the product's models run over them."""

import itertools
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.events import ENVELOPE_SCHEMA
from dataplatform.core.processing import ModelRunner, RunResult
from dataplatform.platform.collector import from_posthog, from_segment
from web_user_analytics.product import product

BRONZE = "web_user_analytics.bronze.clickstream"
SITE = "https://shop.example.com"
CHROME_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
SAFARI_IPAD = "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

Item = tuple[str, dict[str, Any]]  # (wire format, the item as the SDK sends it)


class Sdk:
    """Builds the items browsers send; each gets a fresh message id unless one is given."""

    SITE = SITE
    CHROME_WINDOWS = CHROME_WINDOWS
    FIREFOX_LINUX = FIREFOX_LINUX
    SAFARI_IPHONE = SAFARI_IPHONE
    SAFARI_IPAD = SAFARI_IPAD
    GOOGLEBOT = GOOGLEBOT

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def _message_id(self, given: str | None) -> str:
        return given or f"m-{next(self._ids):05d}"

    def page(
        self,
        browser: str,
        at: datetime,
        path: str,
        *,
        query: str = "",
        referrer: str | None = None,
        campaign: dict[str, str] | None = None,
        user_agent: str = CHROME_WINDOWS,
        user_id: str | None = None,
        message_id: str | None = None,
    ) -> Item:
        """A Segment `page` call from analytics.js on `browser` (its anonymous id)."""
        url = f"{SITE}{path}{'?' + query if query else ''}"
        page = {"url": url, "path": path, "referrer": referrer or "", "title": path}
        context: dict[str, Any] = {"page": page, "userAgent": user_agent}
        if campaign:
            context["campaign"] = campaign
        item = {
            "type": "page",
            "name": path,
            "anonymousId": browser,
            "messageId": self._message_id(message_id),
            "timestamp": at.isoformat(),
            "properties": page,
            "context": context,
        }
        if user_id:
            item["userId"] = user_id
        return "segment", item

    def track(
        self,
        browser: str,
        at: datetime,
        event: str,
        path: str = "/",
        *,
        user_agent: str = CHROME_WINDOWS,
        properties: dict[str, Any] | None = None,
        message_id: str | None = None,
    ) -> Item:
        """A Segment `track` call (a click, a purchase) made on page `path`."""
        return "segment", {
            "type": "track",
            "event": event,
            "anonymousId": browser,
            "messageId": self._message_id(message_id),
            "timestamp": at.isoformat(),
            "properties": properties or {},
            "context": {"page": {"url": f"{SITE}{path}", "path": path}, "userAgent": user_agent},
        }

    def identify(
        self, browser: str, user_id: str, at: datetime, traits: dict[str, Any] | None = None
    ) -> Item:
        """A Segment `identify` call: `browser` signed in as `user_id`."""
        return "segment", {
            "type": "identify",
            "userId": user_id,
            "anonymousId": browser,
            "traits": {"plan": "member"} if traits is None else traits,
            "messageId": self._message_id(None),
            "timestamp": at.isoformat(),
        }

    def posthog_pageview(
        self,
        browser: str,
        at: datetime,
        path: str,
        *,
        referrer: str = "$direct",
        utm: dict[str, str] | None = None,
        user_agent: str = CHROME_WINDOWS,
        message_id: str | None = None,
    ) -> Item:
        """A posthog-js `$pageview` of a visitor not signed in (distinct_id is its device id)."""
        return "posthog", {
            "event": "$pageview",
            "distinct_id": browser,
            "uuid": self._message_id(message_id),
            "timestamp": at.isoformat(),
            "properties": {
                "$current_url": f"{SITE}{path}",
                "$pathname": path,
                "$referrer": referrer,
                "$raw_user_agent": user_agent,
                "$device_id": browser,
                **{f"utm_{key}": value for key, value in (utm or {}).items()},
            },
        }


@pytest.fixture(scope="session")
def sdk() -> Sdk:
    return Sdk()


def append_to_bronze(
    lake: Lakehouse, items: Iterable[Item], delay: timedelta = timedelta(seconds=1)
) -> None:
    """Normalise `items` as the collector does and append them to bronze, each received
    `delay` after it happened (no `sentAt`: timestamps are kept as sent)."""
    rows = []
    for wire, item in items:
        normalise = from_posthog if wire == "posthog" else from_segment
        received = datetime.fromisoformat(item["timestamp"]) + delay
        rows.append(normalise(item, received_at=received, source_id="website"))
    lake.append(BRONZE, pa.Table.from_pylist(rows, ENVELOPE_SCHEMA))


@pytest.fixture(scope="session")
def to_bronze() -> Callable[..., None]:
    return append_to_bronze


class Models:
    """The product's models over one lake and metadata store, run as the orchestrator runs them."""

    def __init__(self, lake: Lakehouse, folder: Path) -> None:
        self.lake = lake
        self.store = MetadataStore(f"sqlite:///{folder / 'metadata.db'}")
        self.store.upgrade()
        # The models read the settings now: a test changes them before it makes its Models.
        # One runner for every run: its first run parses the column lineage (seconds).
        self.runner = ModelRunner(product.model_graph(), lake, self.store)

    def run(self) -> list[RunResult]:
        results = self.runner.run()
        failed = [result for result in results if result.status == "failed"]
        assert not failed, failed
        return results

    def rows(self, table: str, order_by: str | None = None) -> list[dict[str, Any]]:
        rows = self.lake.read(f"web_user_analytics.{table}")
        return (rows.sort_by(order_by) if order_by else rows).to_pylist()

    def __enter__(self) -> "Models":
        return self

    def __exit__(self, *_: object) -> None:
        self.store.dispose()


def new_models(folder: Path) -> Models:
    """The models over a fresh lake in `folder`."""
    return Models(Lakehouse(folder / "lake"), folder)


@pytest.fixture(scope="session")
def make_models() -> Callable[[Path], Models]:
    return new_models
