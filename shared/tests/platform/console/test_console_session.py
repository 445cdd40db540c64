"""The console's session over HTTP: the login form hands out an HttpOnly, SameSite=Strict cookie;
it reads like a token, but a change made with it needs the page's CSRF token; a page a role may
not see is not linked and answers 403."""

import re
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
import pytest

from dataplatform.platform.auth import CSRF_HEADER, SESSION_COOKIE, generate_password
from dataplatform.testing import ADMIN, RunningGateway, app_events

WEB_PAGE = "/console/products/web-user-analytics/traffic"
WEB_BRONZE = "web_user_analytics.bronze.clickstream"
MOBILE_BRONZE = "mobile_user_analytics.bronze.app_events"


def post_login(
    client: httpx.Client, username: str, password: str, target: str = "/console"
) -> httpx.Response:
    """Send the login form as a browser would: the form's page first, for its token."""
    form = client.get("/console/login").text
    token = re.search(r'name="form_token" value="([^"]+)"', form)
    assert token, "the login form carries no token"
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "next": target, "form_token": token[1]},
    )


def logged_in(gateway: RunningGateway, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=gateway.url, follow_redirects=False)
    answer = post_login(client, username, password)
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(page: str) -> str:
    found = re.search(r'hx-headers=\'\{"X-CSRF-Token": "([0-9a-f]+)"\}\'', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def test_a_page_without_a_session_sends_to_the_login_and_back(gateway: RunningGateway) -> None:
    answer = httpx.get(f"{gateway.url}{WEB_PAGE}")

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/login?next={WEB_PAGE}"
    assert "<form" in httpx.get(f"{gateway.url}/console/login").text


def test_logging_in_sets_a_cookie_scripts_cannot_read_nor_other_sites_send(
    gateway: RunningGateway,
) -> None:
    client = httpx.Client(base_url=gateway.url, follow_redirects=False)
    answer = post_login(client, ADMIN, gateway.admin_password, WEB_PAGE)

    assert answer.status_code == 303
    assert answer.headers["location"] == WEB_PAGE
    cookie = next(
        value for value in answer.headers.get_list("set-cookie") if value.startswith(SESSION_COOKIE)
    )
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/" in cookie


def test_a_wrong_password_shows_the_form_again_with_why(gateway: RunningGateway) -> None:
    client = httpx.Client(base_url=gateway.url, follow_redirects=False)
    answer = post_login(client, ADMIN, "not-the-password")

    assert answer.status_code == 401
    assert "Wrong user name or password" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["https://elsewhere.example/", "//elsewhere.example/", "/admin"])
def test_after_the_login_only_a_console_page_is_a_destination(
    gateway: RunningGateway, target: str
) -> None:
    client = httpx.Client(base_url=gateway.url, follow_redirects=False)
    answer = post_login(client, ADMIN, gateway.admin_password, target)

    assert answer.headers["location"] == "/console"


def test_a_login_posted_from_another_site_is_refused(gateway: RunningGateway) -> None:
    """Login CSRF: another site's page can post the form, but without this site's cookie and
    the token that matches it."""
    answer = httpx.post(
        f"{gateway.url}/console/login",
        data={"username": ADMIN, "password": gateway.admin_password, "form_token": "guessed"},
    )

    assert answer.status_code == 403
    assert "log in again here" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


def test_a_locked_account_is_told_when_to_come_back(gateway: RunningGateway) -> None:
    client = httpx.Client(base_url=gateway.url, follow_redirects=False)
    failures = gateway.services.settings.auth.lockout_failures
    answers = [post_login(client, ADMIN, "not-the-password") for _ in range(failures + 1)]

    assert answers[-1].status_code == 429
    assert int(answers[-1].headers["retry-after"]) > 0
    assert "<form" in answers[-1].text


def test_the_session_reads_the_api_but_changes_nothing_without_the_pages_token(
    gateway: RunningGateway,
) -> None:
    client = logged_in(gateway, ADMIN, gateway.admin_password)
    page = client.get("/console").text

    assert client.get("/auth/me").json()["subject"] == ADMIN
    refused = client.post("/console/logout")
    assert refused.status_code == 403
    assert CSRF_HEADER in refused.text
    creating = client.post("/admin/users", json={"username": "mallory", "roles": ["admin"]})
    assert creating.status_code == 403
    assert client.get("/auth/me").status_code == 200  # still logged in

    out = client.post("/console/logout", headers={CSRF_HEADER: csrf_of(page)})
    assert out.status_code == 204
    assert out.headers["hx-redirect"] == "/console/login"
    assert 'dp_session=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]


def test_a_role_without_a_products_read_neither_sees_nor_opens_its_pages(
    gateway: RunningGateway,
) -> None:
    password = generate_password()
    gateway.services.auth.users.create("ana", password, ["mobile-user-analytics-owner"], "test")
    client = logged_in(gateway, "ana", password)

    overview = client.get("/console")
    refused = client.get(WEB_PAGE)

    assert overview.status_code == 200
    assert "/console/products/mobile-user-analytics" in overview.text
    assert "/console/products/web-user-analytics" not in overview.text
    assert refused.status_code == 403
    assert "product:web-user-analytics:read" in refused.text
    assert "<html" in refused.text  # a page, not a problem document


def test_every_product_has_a_page_and_the_declared_pages_are_linked(
    gateway: RunningGateway,
) -> None:
    client = logged_in(gateway, ADMIN, gateway.admin_password)

    overview = client.get("/console").text
    web = client.get("/console/products/web-user-analytics")
    ops = client.get("/console/products/operational-metrics")

    assert f'href="{WEB_PAGE}"' in overview
    assert web.status_code == 200 and f'href="{WEB_PAGE}"' in web.text
    # A product declaring no page: its tables.
    assert ops.status_code == 200
    assert "operational_metrics.gold.slo_status" in ops.text
    assert client.get("/console/products/nothing-here").status_code == 404


def test_the_overview_counts_the_events_received_each_minute_of_the_hour_per_product(
    gateway: RunningGateway,
) -> None:
    now = datetime.now(UTC)
    lake = gateway.services.lake
    lake.append(WEB_BRONZE, app_events("w1", "w2", "w3", at=now))
    lake.append(MOBILE_BRONZE, app_events("m1", "m2", at=now - timedelta(minutes=5)))
    lake.append(MOBILE_BRONZE, app_events("m-old", at=now - timedelta(hours=2)))
    password = generate_password()
    gateway.services.auth.users.create("bo", password, ["mobile-user-analytics-owner"], "test")

    everything = logged_in(gateway, ADMIN, gateway.admin_password).get("/console/overview/events")
    mobile_only = logged_in(gateway, "bo", password).get("/console/overview/events")

    rows = everything.json()["rows"]
    assert len(rows) == 60
    assert sum(row["web_user_analytics"] for row in rows) == 3
    assert sum(row["mobile_user_analytics"] for row in rows) == 2  # not the one 2 hours old
    assert rows[-1]["minute"] == now.strftime("%H:%M")
    assert all("web_user_analytics" not in row for row in mobile_only.json()["rows"])


def test_the_catalog_page_is_linked_and_opened_only_with_catalog_read(
    gateway: RunningGateway,
) -> None:
    password = generate_password()
    gateway.services.auth.users.create("cy", password, ["source-manager"], "test")
    admin = logged_in(gateway, ADMIN, gateway.admin_password)
    owner = logged_in(gateway, "cy", password)

    assert 'href="/console/catalog"' in admin.get("/console").text
    page = admin.get("/console/catalog")
    assert page.status_code == 200
    assert 'data-source="/catalog/tables?limit=500"' in page.text
    assert 'href="/console/catalog"' not in owner.get("/console").text
    assert owner.get("/console/catalog").status_code == 403
