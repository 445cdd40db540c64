"""Pytest fixtures and markers for the platform's and every product's tests (a pytest11 plugin).

Tests that need a service (marker `postgres`, `redis`) skip with a reason when it is missing,
except under `CI=true`, where a missing service fails the test: CI must never pass by skipping.
"""

import contextlib
import math
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import subprocess

    import pyarrow as pa
    from fastapi import APIRouter

    from dataplatform.core.config import PlatformSettings
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.connectors.lakehouse import Lakehouse
    from dataplatform.core.product import Product
    from dataplatform.platform.services import Services
    from dataplatform.platform.sources import SourceRegistry

POSTGRES_ADMIN_URL = os.environ.get(
    "DATAPLATFORM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARKERS = {
    "postgres": "needs PostgreSQL at 127.0.0.1:5432 (DATAPLATFORM_TEST_POSTGRES_URL)",
    "redis": "needs Redis at 127.0.0.1:6379",
    "spark": "runs Spark in local mode (needs Java 17)",
    "browser": "drives Chromium through Playwright",
    "slow": "takes more than a few seconds",
    "serial": "runs in `make test`'s second, serial pytest: schemathesis reports each operation as "
    "a subtest, which pytest-xdist's workers never run",
}


TEST_NOW_VARIABLE = "DATAPLATFORM_TEST_NOW"


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    _start_the_clock_at_test_now(config)


def _start_the_clock_at_test_now(config: pytest.Config) -> None:
    """With DATAPLATFORM_TEST_NOW=<ISO 8601 instant>, the run's clock starts at that instant and
    ticks from there (modules are imported after this, so their "now" is that too): started just
    before midnight, a run shows whether a test depends on the date."""
    start = os.environ.get(TEST_NOW_VARIABLE)
    if not start:
        return
    import time_machine

    traveller = time_machine.travel(datetime.fromisoformat(start), tick=True)
    traveller.start()
    config.add_cleanup(traveller.stop)


# Debian's Chromium, which Playwright drives (it never downloads a browser of its own), and the
# flags it needs here. Only loopback resolves: a page reaching for the internet (a CDN, an SDK's
# vendor) fails instead of leaking a request.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)


def service_missing(reason: str) -> None:
    """Skip the test, or fail it under CI=true, because a service it needs is not there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: a missing service fails instead of skipping)")
    else:
        pytest.skip(reason)


def installed(command: str) -> str:
    """The path of `command`, which infrastructure/local/services.sh installs; a missing one
    fails under CI=true and skips elsewhere."""
    found = shutil.which(command)
    if found is None:
        service_missing(
            f"`{command}` is not installed (infrastructure/local/services.sh installs it)"
        )
    assert found is not None
    return found


def _redis_test_url() -> str:
    configured = os.environ.get("DATAPLATFORM_TEST_REDIS_URL")
    if configured:
        return configured
    # Each pytest-xdist worker empties a database of its own (gw0: 15, gw1: 14, ...): on a shared
    # one, a test's flush would delete another worker's streams mid-test.
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    return f"redis://127.0.0.1:6379/{15 - worker}"


REDIS_TEST_URL = _redis_test_url()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database emptied before and after the test (db 15, or one per xdist worker)."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        client.close()
        service_missing(f"Redis is not reachable at {REDIS_TEST_URL}: {exc}")
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture
def lake_root(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def lake(lake_root: Path) -> "Lakehouse":
    """An empty lakehouse in a temporary folder."""
    from dataplatform.core.connectors.lakehouse import Lakehouse

    return Lakehouse(lake_root)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'metadata.db'}"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL, or skip/fail (see module docstring)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(POSTGRES_ADMIN_URL)
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.OperationalError as exc:
        service_missing(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc.orig}")
    finally:
        engine.dispose()
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy

    name = f"dataplatform_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            sqlalchemy.make_url(postgres_server)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(database_url: str) -> "Iterator[MetadataStore]":
    """A migrated metadata store, on SQLite and on PostgreSQL."""
    from dataplatform.core.connectors.db import MetadataStore

    metadata = MetadataStore(database_url)
    metadata.upgrade()
    yield metadata
    metadata.dispose()


def check_product_contract(product: "Product", lake: "Lakehouse") -> None:
    """Assert what every product must satisfy, whatever its data work.

    It is registered under `dataplatform.products`, its settings load in every environment, its
    router mounts at its prefix, its models form a graph (no unknown ref, no cycle), its health
    checks pass on an empty lake, and its Dockerfile builds on the base image and serves it.
    """
    from fastapi import FastAPI

    from dataplatform.core.config import ENVIRONMENTS
    from dataplatform.core.monitoring import HealthContext, HealthStatus, run_checks
    from dataplatform.core.product import get_product

    assert get_product(product.name) is product, "the entry point points to another object"
    for environment in ENVIRONMENTS:
        settings = product.settings(environment)
        assert settings.slos, f"{product.name} declares no SLO in {environment}"
        for job in product.jobs:
            job.interval(settings)
        product.platform_settings(environment)
    context = product.context()
    app = FastAPI()
    app.include_router(product.router(context), prefix=product.prefix)
    product.model_graph(context)
    results = run_checks(product.health_checks, HealthContext.extending(context, lake=lake))
    assert results, f"{product.name} declares no health check"
    assert all(result.status is HealthStatus.OK for result in results), results
    _check_dockerfile(product)


def _check_dockerfile(product: "Product") -> None:
    folder = product.config_dir.parent
    dockerfile = folder / "Dockerfile"
    assert dockerfile.exists(), f"{product.name} has no Dockerfile in {folder}"
    text = dockerfile.read_text()
    image_folder = f"/app/products/{folder.name}"
    assert text.startswith("#") and "\nFROM dataplatform-base\n" in text, (
        f"{dockerfile} must build on the base image (infrastructure/docker/base.Dockerfile)"
    )
    assert f"COPY products/{folder.name} {image_folder}\n" in text
    # Editable, so that the product finds its config/ beside its source.
    assert f"--editable {image_folder}\n" in text, (
        f"{dockerfile} must install {image_folder} editable"
    )
    assert f'"serve", "--product", "{product.name}"' in text
    assert "\nUSER dataplatform\n" in text, f"{dockerfile} must not run as root"


MOBILE = "mobile_user_analytics.bronze.app_events"
WEB = "web_user_analytics.bronze.clickstream"
MOBILE_QUARANTINE = "mobile_user_analytics.quarantine.app_events"
WEB_QUARANTINE = "web_user_analytics.quarantine.clickstream"


@dataclass
class RunningCollector:
    url: str
    lake: "Lakehouse"
    sources: "SourceRegistry"
    ios_key: str
    web_key: str
    server_key: str


@pytest.fixture
def collector(lake: "Lakehouse", tmp_path: Path) -> Iterator["RunningCollector"]:
    """A collector on a loopback port, embedded bus, SQLite store, with three sources."""
    from dataplatform.core.config import CollectorLimits
    from dataplatform.core.connectors.bus import EmbeddedBus
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.product import discover_products
    from dataplatform.platform.collector import (
        Collector,
        EventRouter,
        create_collector_app,
        serve_in_background,
    )
    from dataplatform.platform.sources import SourceRegistry

    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    store.upgrade()
    sources = SourceRegistry(store, cache_seconds=0.2)
    _, ios_key = sources.create("ios-app", "ios", "mobile-user-analytics")
    _, web_key = sources.create("website", "web", "web-user-analytics")
    _, server_key = sources.create("backend", "server", "web-user-analytics")
    limits = CollectorLimits(
        max_event_bytes=4096,
        max_body_bytes=64 * 1024,
        max_posthog_batch_bytes=128 * 1024,
        max_batch_events=50,
    )
    app = create_collector_app(
        Collector(limits, sources, EmbeddedBus(lake), EventRouter(discover_products()))
    )
    with serve_in_background(app) as url:
        yield RunningCollector(url, lake, sources, ios_key, web_key, server_key)
    store.dispose()


TEST_JWT_SECRET = "test-secret-of-the-gateway-fixture-" + "0123456789abcdef" * 2
ADMIN = "admin"


def platform_settings(database_url: str, lake_root: Path, **values: object) -> "PlatformSettings":
    """Settings for a throw-away platform: this lake, this store, a fixed signing secret."""
    from dataplatform.core.config import PlatformSettings

    # Tokens outlive the slowest run of a module that holds one (a module-scoped admin, say).
    values.setdefault("auth", {"jwt_secret": TEST_JWT_SECRET, "access_token_minutes": 24 * 60})
    return PlatformSettings(lake_root=str(lake_root), database_url=database_url, **values)  # type: ignore[arg-type]


@dataclass
class RunningGateway:
    """A gateway on a loopback port, with an admin user; `headers_for` makes more callers."""

    url: str
    services: "Services"
    admin_password: str

    def token(self, username: str, password: str) -> str:
        import httpx2 as httpx

        response = httpx.post(
            f"{self.url}/auth/token", data={"username": username, "password": password}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    @property
    def admin(self) -> dict[str, str]:
        """Headers of the admin user."""
        return {"Authorization": f"Bearer {self.token(ADMIN, self.admin_password)}"}

    def headers_for(self, username: str, roles: list[str]) -> dict[str, str]:
        """Create user `username` with `roles` and return the headers of its bearer token."""
        from dataplatform.platform.auth import generate_password

        password = generate_password()
        self.services.auth.users.create(username, password, roles, "test")
        return {"Authorization": f"Bearer {self.token(username, password)}"}


@contextlib.contextmanager
def running_gateway(settings: "PlatformSettings") -> Iterator[RunningGateway]:
    """Migrate the store, start the gateway over `settings` on loopback, stop it after the block."""
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.product import discover_products
    from dataplatform.platform.auth import generate_password
    from dataplatform.platform.collector import serve_in_background
    from dataplatform.platform.gateway import create_gateway
    from dataplatform.platform.services import Services

    MetadataStore(settings.database_url).upgrade()
    services = Services.start(settings, discover_products())
    password = generate_password()
    services.auth.users.create(ADMIN, password, ["admin"], "test")
    with serve_in_background(create_gateway(services)) as url:
        yield RunningGateway(url, services, password)


@contextlib.contextmanager
def serving_routers(gateway: RunningGateway, *routers: "APIRouter") -> Iterator[str]:
    """Serve `routers` beside the gateway's own over `gateway`'s services; yields the URL."""
    from dataplatform.platform.collector import serve_in_background
    from dataplatform.platform.gateway import create_app, gateway_routers

    app = create_app(
        gateway.services,
        title="t",
        service="test",
        routers=[*gateway_routers(), *routers],
        products=[],
    )
    with serve_in_background(app) as url:
        yield url


@pytest.fixture
def gateway(sqlite_url: str, lake_root: Path) -> Iterator[RunningGateway]:
    """A gateway on SQLite and a temporary lake, with an admin user."""
    with running_gateway(platform_settings(sqlite_url, lake_root)) as running:
        yield running


@pytest.fixture
def gateway_on_each_database(database_url: str, lake_root: Path) -> Iterator[RunningGateway]:
    """The gateway once on SQLite, once on a fresh PostgreSQL database."""
    with running_gateway(platform_settings(database_url, lake_root)) as running:
        yield running


def app_events(
    *event_ids: str, os_name: str = "iOS", at: datetime | None = None, **fields: object
) -> "pa.Table":
    """Bronze rows of tracked app events, one per id, in the canonical envelope.

    Every event is the same (`open` by `u1` on `os_name` at 2026-11-20 09:00 UTC) unless
    `fields` say otherwise, so a test names only what it is about.
    """
    import json

    import pyarrow as pa

    from dataplatform.core.events import ENVELOPE_SCHEMA

    at = at or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    common = {
        "type": "track",
        "event": "open",
        "user_id": "u1",
        "anonymous_id": "i1",
        "timestamp": at,
        "original_timestamp": at,
        "sent_at": at,
        "received_at": at,
        "source_id": "ios-app",
        "wire_format": "segment",
        "context": json.dumps({"os": {"name": os_name}}),
        "properties": "{}",
        "raw": "{}",
        **fields,
    }
    return pa.Table.from_pylist(
        [{"event_id": event_id, **common} for event_id in event_ids], ENVELOPE_SCHEMA
    )


def start_collector_process(env: dict[str, str], port: int) -> "subprocess.Popen[bytes]":
    """`dataplatform serve --collector` on `port` with `env`, once its health probe answers."""
    import subprocess
    import sys

    import httpx2 as httpx

    cli = str(Path(sys.executable).with_name("dataplatform"))
    process = subprocess.Popen(  # noqa: S603 (the platform's own CLI)
        [cli, "serve", "--collector", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"the collector on port {port} did not answer /health within 60 s")


class Traffic:
    """Clients sending Segment batches with unique event ids to `url` until stopped (or until
    the server stops answering), remembering the ids of every batch acknowledged with a 200."""

    BATCH = 25

    def __init__(self, url: str, key: str, clients: int = 3) -> None:
        self.url, self.key = url, key
        self.acknowledged: list[str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._send, args=(n,)) for n in range(clients)]

    def __enter__(self) -> "Traffic":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _send(self, client: int) -> None:
        import httpx2 as httpx

        batch_number = 0
        with httpx.Client(auth=(self.key, ""), timeout=10) as session:
            while not self.stop.is_set():
                batch_number += 1
                ids = [f"{self.url[-5:]}-{client}-{batch_number}-{i}" for i in range(self.BATCH)]
                body = {
                    "batch": [
                        {"type": "track", "event": "tap", "userId": "u", "messageId": m}
                        for m in ids
                    ]
                }
                try:
                    response = session.post(f"{self.url}/v1/batch", json=body)
                except httpx.TransportError:
                    return  # the server is gone: this batch was never acknowledged
                if response.status_code == 200:
                    with self._lock:
                        self.acknowledged.extend(ids)

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} acknowledged"
            time.sleep(0.01)


def comparable_rows(table: "pa.Table") -> list[tuple[object, ...]]:
    """`table`'s rows sorted, floats rounded to 9 places: two engines' outputs compare equal
    when they hold the same rows (they add doubles in different orders)."""

    def rounded(value: object) -> object:
        if isinstance(value, float) and not math.isnan(value):
            return round(value, 9)
        if isinstance(value, list):
            return [rounded(item) for item in value]
        if isinstance(value, dict):
            return {key: rounded(item) for key, item in value.items()}
        return value

    return sorted((tuple(rounded(v) for v in row.values()) for row in table.to_pylist()), key=repr)
