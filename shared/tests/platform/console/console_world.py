"""A platform as it would be after a week: generated app and web traffic through every
product's models, the gateway's metrics scraped twice, the audit log, catalog, statistics and bus
lag published, an ML model trained, a retention run, and what an admin would have made (a key, a
source, a settings version of each product, a deployment, a snapshot, an erasure request, a
saved query, an export and a trend alert of web and of mobile). The
console's browser tests open every page of it; `benchmarks/console_pages.py` times them."""

import time
from datetime import UTC, datetime, timedelta

import httpx2 as httpx

from dataplatform.core.console import ConsolePage
from dataplatform.core.jobs import JobContext, JobScheduler
from dataplatform.core.processing import ModelRunner
from dataplatform.core.product import get_product
from dataplatform.core.product_config import ProductConfigs
from dataplatform.platform.audit import publish_audit_log
from dataplatform.platform.console._admin_pages import admin_pages
from dataplatform.platform.console._catalog_pages import CATALOG_PAGE
from dataplatform.platform.generator import Volume, write_columns
from dataplatform.platform.telemetry import (
    publish_bus_lag,
    publish_catalog,
    publish_model_runs,
    publish_service_metrics,
    publish_table_stats,
)
from dataplatform.testing import RunningGateway

WEB = "web-user-analytics"
MOBILE = "mobile-user-analytics"
SEGMENTS = "user-segmentation"
OPS = "operational-metrics"
COMPLIANCE = "compliance-auditing"
PRODUCTS = (WEB, MOBILE, SEGMENTS, OPS, COMPLIANCE)
A_USER = "user-000007"  # one of the generated people
# Where web's and mobile's trend alerts would go (nothing listens: no check runs here).
GROWTH_HOOK = {"name": "growth", "url": "http://127.0.0.1:9/hook"}


def fill_world(gateway: RunningGateway, users: int = 120) -> None:
    """A week of `users`' traffic through every product, and what the platform would have
    published and recorded by then."""
    services = gateway.services
    admin = gateway.admin
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    write_columns(
        Volume(users=users, days=7, start=start - timedelta(days=6), seed=18),
        services.lake,
        {
            "web": "web_user_analytics.bronze.clickstream",
            "mobile": "mobile_user_analytics.bronze.app_events",
        },
    )
    run_models(gateway, WEB, MOBILE, SEGMENTS)

    # The gateway's metrics, scraped a minute apart with requests (and a PII read) between.
    def scrape() -> str:
        answer = httpx.get(f"{gateway.url}/metrics", headers=admin)
        answer.raise_for_status()
        return answer.text

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    publish_service_metrics(services.lake, "gateway", scrape, now - timedelta(minutes=1))
    for path in ("/web/overview", "/mobile/active-users", f"/mobile/users/{A_USER}/summary"):
        assert httpx.get(f"{gateway.url}{path}", headers=admin).status_code == 200
    publish_service_metrics(services.lake, "gateway", scrape, now)
    trained = httpx.post(f"{gateway.url}/segments/models/train", headers=admin, timeout=120)
    assert trained.status_code == 201, trained.text
    keep_records(gateway)
    publish_platform_tables(gateway)
    run_jobs(gateway, COMPLIANCE)  # a retention run
    run_models(gateway, OPS, COMPLIANCE)


def run_models(gateway: RunningGateway, *names: str) -> None:
    services = gateway.services
    for name in names:
        product = get_product(name)
        context = ProductConfigs(services.store).context_of(product)
        runner = ModelRunner(product.model_graph(context), services.lake, services.store)
        failed = [r for rs in runner.run_until_caught_up() for r in rs if r.status == "failed"]
        assert not failed, failed


def publish_platform_tables(gateway: RunningGateway) -> None:
    """What the platform's jobs publish: table statistics, the catalog, model runs, the audit
    log, the bus's lag."""
    services = gateway.services
    products = [get_product(name) for name in PRODUCTS]
    publish_bus_lag(services.settings, services.lake, products)
    publish_table_stats(services.catalog, services.lake)
    publish_catalog(services.catalog, services.lake)
    publish_model_runs(services.store, services.lake)
    publish_audit_log(services.store, services.lake)


def keep_records(gateway: RunningGateway) -> None:
    """What an admin would have made by now: a key, a source, a settings version of each
    product, a deployment, a snapshot, an erasure request, a saved query, an export, and a trend
    alert of web and of mobile."""
    made = [
        ("/admin/api-keys", {"name": "reporting", "roles": ["viewer"]}),
        ("/admin/sources", {"name": "shop-app", "kind": "ios", "product": MOBILE}),
        (
            "/admin/deployments",
            {"product": WEB, "version": "1.0.0", "environment": "prod", "status": "succeeded"},
        ),
        ("/admin/snapshots", {"label": "first-week"}),
        ("/compliance/erasure", {"user_id": "user-000099"}),
        (
            "/query/saved",
            {"name": "top-pages", "sql": "select path, views from web_user_analytics.gold.pages"},
        ),
        (
            "/exports",
            {
                "name": "pages-daily",
                "source": {"table": "web_user_analytics.gold.pages"},
                "folder": "pages",
            },
        ),
    ]
    for path, body in made:
        answer = httpx.post(f"{gateway.url}{path}", headers=gateway.admin, json=body, timeout=120)
        assert answer.status_code == 201, answer.text
    for name in PRODUCTS:
        url = f"{gateway.url}/admin/products/{name}/config"
        values = {"alert_webhooks": [GROWTH_HOOK]} if name in (WEB, MOBILE) else {}
        body = {"comment": "the files' values", "values": values}
        answer = httpx.put(url, headers=gateway.admin, json=body)
        assert answer.status_code == 200, answer.text
    for prefix, event in (("/web", "$pageview"), ("/mobile", "$screen")):
        alert = {
            "name": f"{event} per hour below 1",
            "trend": {"series": [{"event": event}], "interval": "hour"},
            "condition": "below",
            "threshold": 1,
            "destinations": [GROWTH_HOOK["name"]],
        }
        url = f"{gateway.url}{prefix}/insights/alerts"
        # Made once the gateway has rebuilt the product's routes with the webhook (within
        # `gateway.config_check_seconds`).
        deadline = time.monotonic() + 30
        while (answer := httpx.post(url, headers=gateway.admin, json=alert)).status_code == 422:
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.2)
        assert answer.status_code == 201, answer.text


def run_jobs(gateway: RunningGateway, name: str) -> None:
    services = gateway.services
    product = get_product(name)
    context = JobContext.extending(
        ProductConfigs(services.store).context_of(product), lake=services.lake
    )
    outcomes = JobScheduler(product.jobs, context).run_once()
    assert [outcome.error for outcome in outcomes] == [None] * len(outcomes)


def every_page(gateway: RunningGateway) -> list[tuple[str, ConsolePage]]:
    """(URL, page) of every product page, every admin page and the catalog."""
    configs = ProductConfigs(gateway.services.store)
    products = [get_product(name) for name in PRODUCTS]
    found = [
        (f"/console/products/{product.name}/{page.slug}", page)
        for product in products
        for page in product.console(configs.context_of(product))
    ]
    settings = {product.name: product.settings() for product in products}
    found += [(f"/console/admin/{page.slug}", page) for page in admin_pages(products, settings)]
    found.append(("/console/catalog", CATALOG_PAGE))
    return found
