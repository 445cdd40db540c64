"""`make demo`: the whole platform running on a throw-away lake under `.data/demo`.

It starts what `dataplatform up` starts (the gateway with the collector, the platform's jobs and
every product's processes, supervised), creates an admin with a generated password and three
sources, sends a week of synthetic mobile and web traffic through the gateway's collector and then
a trickle of live traffic (so realtime visitors and freshness have something to show), checks its
own login at the gateway, and prints the login and the URLs and commands to try. It runs until
Ctrl-C (or SIGTERM), then stops the platform in order: the gateway drains first.
"""

import os
import shutil
import signal
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2 as httpx
from rich.console import Console
from rich.panel import Panel

from dataplatform.core.config import PlatformSettings, load_settings
from dataplatform.core.logging import configure_logging
from dataplatform.platform.orchestrator import PlatformOrchestrator

if TYPE_CHECKING:
    from dataplatform.platform.generator import TrafficGenerator

DEMO_ROOT = Path(".data/demo")
PREFERRED_PORT = 8000
ADMIN = "admin"
console = Console()


def main() -> None:
    shutil.rmtree(DEMO_ROOT, ignore_errors=True)
    DEMO_ROOT.mkdir(parents=True)
    # The settings of this process and of every process the orchestrator starts.
    os.environ["DATAPLATFORM_LAKE_ROOT"] = str(DEMO_ROOT / "lake")
    os.environ["DATAPLATFORM_DATABASE_URL"] = f"sqlite:///{DEMO_ROOT / 'metadata.db'}"
    os.environ.setdefault("DATAPLATFORM_LOG_LEVEL", "WARNING")
    settings = load_settings(PlatformSettings)
    configure_logging("WARNING", "console")
    password, keys = _accounts(settings)
    port = _port()
    url = f"http://127.0.0.1:{port}"
    orchestrator = PlatformOrchestrator.for_platform(
        settings, DEMO_ROOT, "127.0.0.1", port, log_dir=DEMO_ROOT / "logs"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    console.rule("Starting the platform")
    orchestrator.start_all()
    supervisor = threading.Thread(target=lambda: _supervise(orchestrator, stop), daemon=True)
    supervisor.start()
    problems: list[str] = []
    live = threading.Thread(target=lambda: _send_live_traffic(url, keys, stop), daemon=True)
    try:
        _wait_until_up(url, stop)
        _send_traffic(url, keys)
        live.start()
        token = _check_login(url, password)
        _show(orchestrator, url, token)
        _guide(url, password)
        stop.wait()
    finally:
        stop.set()
        if live.is_alive():
            live.join()
        supervisor.join()
        problems = orchestrator.stop_all()
    for problem in problems:
        console.print(problem, style="red", markup=False)
    console.print("platform stopped" + (" with problems" if problems else " cleanly"))
    if problems:
        raise SystemExit(1)


def _accounts(settings: PlatformSettings) -> tuple[str, dict[str, str]]:
    """The admin (password generated) and the synthetic apps' and website's write keys."""
    from dataplatform.core.connectors.db import MetadataStore
    from dataplatform.core.product import discover_products
    from dataplatform.platform.audit import AuditEntry, AuditLog
    from dataplatform.platform.auth import Auth, generate_password
    from dataplatform.platform.sources import SourceRegistry

    store = MetadataStore(settings.database_url)
    store.upgrade()
    auth = Auth.create(settings, store, [product.name for product in discover_products()])
    auth.roles.ensure_builtin()
    password = generate_password()
    auth.users.create(ADMIN, password, ["admin"], "make demo")
    sources = SourceRegistry(store)
    keys = {
        kind: sources.create(f"demo-{kind}", kind, product)[1]
        for kind, product in (
            ("ios", "mobile-user-analytics"),
            ("android", "mobile-user-analytics"),
            ("web", "web-user-analytics"),
        )
    }
    AuditLog(store).append(
        [
            AuditEntry(
                actor="make demo",
                actor_kind="cli",
                action="admin.users.create",
                detail={"username": ADMIN, "roles": ["admin"]},
            ),
            *(
                AuditEntry(
                    actor="make demo",
                    actor_kind="cli",
                    action="sources.create",
                    detail={"name": f"demo-{kind}"},
                )
                for kind in keys
            ),
        ]
    )
    store.dispose()
    return password, keys


def _port() -> int:
    """8000 when it is free, else any free port (another demo may be running)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", PREFERRED_PORT))
            return PREFERRED_PORT
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def _supervise(orchestrator: PlatformOrchestrator, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        orchestrator.supervise()


def _wait_until_up(url: str, stop: threading.Event, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                console.print(f"gateway answering at {url}")
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the gateway did not answer at {url} within {seconds:.0f} s")
        time.sleep(0.3)


def _history() -> "TrafficGenerator":
    """The week of traffic sent at start."""
    from dataplatform.platform.generator import TrafficGenerator

    return TrafficGenerator(users=300, days=7, seed=7)


def _send_traffic(url: str, keys: dict[str, str]) -> None:
    from dataplatform.platform.generator import WriteKeys, send_over_http

    console.rule("A week of synthetic traffic through the gateway's collector")
    started = time.monotonic()
    sent = send_over_http(_history(), url, WriteKeys(**keys))
    console.print(
        f"{sent:,} events accepted by {url}/v1/batch and /batch in "
        f"{time.monotonic() - started:.1f} s (Segment and PostHog wire formats)"
    )


def _send_live_traffic(url: str, keys: dict[str, str], stop: threading.Event) -> None:
    """Other people, happening now, until the demo stops."""
    from dataplatform.core.errors import TerminalError
    from dataplatform.platform.generator import (
        TrafficGenerator,
        WriteKeys,
        send_live_over_http,
    )

    try:
        send_live_over_http(
            TrafficGenerator(users=300, days=365, seed=8), url, WriteKeys(**keys), stop
        )
    except (TerminalError, httpx.TransportError) as error:
        if not stop.is_set():  # refusals while the gateway drains are expected
            console.print(f"live traffic stopped: {error}", style="red", markup=False)


def _check_login(url: str, password: str) -> str:
    response = httpx.post(f"{url}/auth/token", data={"username": ADMIN, "password": password})
    response.raise_for_status()
    return str(response.json()["access_token"])


def _show(orchestrator: PlatformOrchestrator, url: str, token: str) -> None:
    """What the platform holds now, read through the gateway with the admin's token."""
    headers = {"Authorization": f"Bearer {token}"}
    console.rule("Read back through the gateway")
    for table in (
        "mobile_user_analytics.bronze.app_events",
        "web_user_analytics.bronze.clickstream",
    ):
        entry = httpx.get(f"{url}/catalog/tables/{table}", headers=headers).json()
        console.print(f"{table}: {entry.get('row_count') or 0:,} rows in the catalog")
    verify = httpx.get(f"{url}/admin/audit/verify", headers=headers).json()
    console.print(
        f"audit chain: {'intact' if verify.get('ok') else 'BROKEN'}, "
        f"{verify.get('rows_checked', 0)} entries checked"
    )
    health = orchestrator.health_check()
    for product in health.products:
        processes = ", ".join(f"{p.name} {p.state}" for p in product.processes) or "no processes"
        console.print(f"{product.product:24} {product.status:9} {processes}")


def _guide(url: str, password: str) -> None:
    app_user, web_user = _example_users()
    console.print(
        Panel.fit(
            f"Gateway   {url}        (API docs: {url}/docs)\n"
            f"Console   {url}/console\n"
            f"Login     user [bold]{ADMIN}[/bold]   password [bold]{password}[/bold]\n\n"
            "Try:\n"
            f"  TOKEN=$(curl -s -X POST {url}/auth/token -d username={ADMIN} -d password={password} \\\n"
            "          | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')\n"
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/auth/me\n'
            f'  curl -H "Authorization: Bearer $TOKEN" "{url}/catalog/search?q=user_id"\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/catalog/lineage/mobile_user_analytics.silver.app_events\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/mobile/users/{app_user}/summary\n'
            f'  curl -H "Authorization: Bearer $TOKEN" "{url}/mobile/activity?granularity=hour"\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/mobile/active-users\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/mobile/retention\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/mobile/crashes\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/web/overview\n'
            f'  curl -H "Authorization: Bearer $TOKEN" "{url}/web/pages/top?limit=5"\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/web/sources\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/web/funnels\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/web/users/{web_user}/sessions\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/web/realtime\n'
            f'  curl -H "Authorization: Bearer $TOKEN" "{url}/segments?kind=ml"\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/ops/overview\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/ops/incidents\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/compliance/audit/verify\n'
            f'  curl -H "Authorization: Bearer $TOKEN" "{url}/compliance/access-report?limit=5"\n'
            f'  curl -H "Authorization: Bearer $TOKEN" "{url}/admin/audit?limit=5"\n'
            f'  curl -H "Authorization: Bearer $TOKEN" "{url}/admin/report?format=markdown"\n'
            f"  curl {url}/ready\n"
            f"  DATAPLATFORM_STATE_DIR={DEMO_ROOT} .venv/bin/dataplatform status\n\n"
            f"Each process writes its output to {DEMO_ROOT / 'logs'}/<process>.log.\n"
            "Ctrl-C stops the platform (the gateway drains first).",
            title="Data Platform is running",
        ),
        markup=True,
        highlight=False,
    )


def _example_users() -> tuple[str, str]:
    """A user of the app, and a user of both the app and the website, of the week sent."""

    people = _history().people()
    app_user = next(person.user_id for person in people if person.mobile)
    both = next(person.user_id for person in people if person.mobile and person.web)
    return app_user, both


if __name__ == "__main__":
    main()
