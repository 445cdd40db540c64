"""The login form against a guesser: throttled per client address (a spoofed `X-Forwarded-For`
does not make a new address; only a configured proxy's does) and per account, whatever the
addresses (locked for a while, audited, the lock shared through the metadata store)."""

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from pydantic import ValidationError

from dataplatform.core.config import PlatformSettings
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.product import discover_products
from dataplatform.platform.audit import AuditEntry
from dataplatform.platform.auth import Auth, LoginLockouts, generate_password
from dataplatform.platform.collector import free_port
from dataplatform.testing import (
    TEST_JWT_SECRET,
    RunningGateway,
    platform_settings,
    running_gateway,
)

CLI = str(Path(sys.executable).with_name("dataplatform"))
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LOCKOUT_MINUTES = 15


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta


def log_in(
    gateway: RunningGateway, username: str, password: str, forwarded_for: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return httpx.post(
        f"{gateway.url}/auth/token",
        data={"username": username, "password": password},
        headers=headers,
    )


def audited(gateway: RunningGateway, action: str) -> list[AuditEntry]:
    gateway.services.audit.flush()
    return [row.entry for row in gateway.services.audit_log.rows() if row.entry.action == action]


@pytest.fixture
def exposed_gateway(tmp_path: Path) -> Iterator[RunningGateway]:
    """A gateway with no trusted proxy and 10 logins an hour per address (an hour: a slow
    machine never sees the window slide)."""
    settings = platform_settings(
        f"sqlite:///{tmp_path / 'metadata.db'}",
        tmp_path / "lake",
        gateway={"anonymous_rate_limit": "10/hour"},
    )
    with running_gateway(settings) as gateway:
        yield gateway


@pytest.fixture
def proxied_gateway(tmp_path: Path) -> Iterator[RunningGateway]:
    """A gateway behind a proxy on 127.0.0.1 (so the tests can pose as clients behind it),
    3 logins an hour per address, accounts locked after 3 failures by a clock the test moves."""
    settings = platform_settings(
        f"sqlite:///{tmp_path / 'metadata.db'}",
        tmp_path / "lake",
        gateway={"anonymous_rate_limit": "3/hour", "trusted_proxies": ["127.0.0.1"]},
    )
    with running_gateway(settings) as gateway:
        services = gateway.services
        services.login_lockouts = LoginLockouts(
            services.store, 3, LOCKOUT_MINUTES, now=FrozenClock(START)
        )
        yield gateway


def test_a_spoofed_forwarded_for_does_not_escape_the_address_limit(
    exposed_gateway: RunningGateway,
) -> None:
    # Password spraying: one guess per account, each claiming another address.
    answers = [
        log_in(exposed_gateway, f"user-{n}", "Winter2026!", forwarded_for=f"198.51.100.{n}")
        for n in range(120)
    ]

    statuses = [answer.status_code for answer in answers]
    assert statuses == [401] * 10 + [429] * 110
    assert int(answers[-1].headers["retry-after"]) >= 1
    clients = {entry.detail["client"] for entry in audited(exposed_gateway, "auth.login")}
    assert clients == {"127.0.0.1"}


def test_a_trusted_proxys_forwarded_for_is_the_client(proxied_gateway: RunningGateway) -> None:
    client = "203.0.113.7"
    # What the client itself wrote in the header (left of what the proxy appended) is not trusted.
    same_client = [
        log_in(proxied_gateway, f"user-{n}", "guess", forwarded_for=f"10.9.9.{n}, {client}")
        for n in range(4)
    ]
    other_client = log_in(proxied_gateway, "user-9", "guess", forwarded_for="203.0.113.8")

    assert [answer.status_code for answer in same_client] == [401, 401, 401, 429]
    assert other_client.status_code == 401
    clients = [entry.detail["client"] for entry in audited(proxied_gateway, "auth.login")]
    assert clients == [client, client, client, "203.0.113.8"]


def test_failures_from_many_addresses_lock_the_account_until_the_lockout_ends(
    proxied_gateway: RunningGateway,
) -> None:
    gateway = proxied_gateway
    password = generate_password()
    gateway.services.auth.users.create("ana", password, ["viewer"], "test")
    clock = gateway.services.login_lockouts.now
    assert isinstance(clock, FrozenClock)

    guesses = [
        log_in(gateway, "ana", "wrong-guess", forwarded_for=f"192.0.2.{n}") for n in range(3)
    ]
    while_locked = log_in(gateway, "ana", password, forwarded_for="192.0.2.50")
    others_unaffected = log_in(gateway, "admin", gateway.admin_password, "192.0.2.51")
    clock.advance(timedelta(minutes=LOCKOUT_MINUTES) - timedelta(seconds=1))
    just_before_the_end = log_in(gateway, "ana", password, forwarded_for="192.0.2.52")
    clock.advance(timedelta(seconds=1))
    after = log_in(gateway, "ana", password, forwarded_for="192.0.2.53")

    assert [guess.status_code for guess in guesses] == [401, 401, 401]
    assert while_locked.status_code == 429, while_locked.text
    assert while_locked.headers["content-type"] == "application/problem+json"
    assert while_locked.headers["retry-after"] == str(LOCKOUT_MINUTES * 60)
    assert "`ana` is locked" in while_locked.json()["detail"]
    assert others_unaffected.status_code == 200
    assert just_before_the_end.status_code == 429
    assert just_before_the_end.headers["retry-after"] == "1"
    assert after.status_code == 200, after.text
    (lockout,) = audited(gateway, "auth.lockout")
    assert (lockout.actor, lockout.outcome, lockout.status) == ("ana", "failure", 401)
    assert lockout.detail == {
        "client": "192.0.2.2",
        "failures": 3,
        "locked_until": (START + timedelta(minutes=LOCKOUT_MINUTES)).isoformat(),
    }
    refused = [
        (entry.detail["client"], entry.status)
        for entry in audited(gateway, "auth.login")
        if entry.actor == "ana" and entry.detail.get("locked")
    ]
    assert refused == [("192.0.2.50", 429), ("192.0.2.52", 429)]


def test_failures_older_than_the_lockout_time_are_forgotten(
    proxied_gateway: RunningGateway,
) -> None:
    gateway = proxied_gateway
    password = generate_password()
    gateway.services.auth.users.create("bo", password, ["viewer"], "test")
    clock = gateway.services.login_lockouts.now
    assert isinstance(clock, FrozenClock)

    early = [log_in(gateway, "bo", "wrong", forwarded_for=f"192.0.2.{n}") for n in range(2)]
    clock.advance(timedelta(minutes=LOCKOUT_MINUTES))
    late = [log_in(gateway, "bo", "wrong", forwarded_for=f"192.0.2.{n}") for n in range(10, 12)]
    right = log_in(gateway, "bo", password, forwarded_for="192.0.2.20")
    # A right password ends the count: two more failures do not lock either.
    again = [log_in(gateway, "bo", "wrong", forwarded_for=f"192.0.2.{n}") for n in range(30, 32)]
    still_right = log_in(gateway, "bo", password, forwarded_for="192.0.2.40")

    statuses = [answer.status_code for answer in [*early, *late, right, *again, still_right]]
    assert statuses == [401, 401, 401, 401, 200, 401, 401, 200]
    assert audited(gateway, "auth.lockout") == []


def test_processes_on_one_store_share_the_count_and_the_lock(database_url: str) -> None:
    # Two stores, two connection pools: as two gateway processes see the metadata store.
    MetadataStore(database_url).upgrade()
    first, second = MetadataStore(database_url), MetadataStore(database_url)
    clock = FrozenClock(START)
    limit = 40
    lockouts = [
        LoginLockouts(store, limit, LOCKOUT_MINUTES, now=clock) for store in (first, second)
    ]
    results = []
    lock = threading.Lock()

    def fail_four_times(worker: int) -> None:
        for _ in range(4):
            outcome = lockouts[worker % 2].failed("carla")
            with lock:
                results.append(outcome)

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(fail_four_times, range(10)))

    locks = [outcome for outcome in results if outcome is not None]
    assert len(results) == limit
    assert [(lockout.username, lockout.failures) for lockout in locks] == [("carla", limit)]
    assert lockouts[0].seconds_locked("carla") == LOCKOUT_MINUTES * 60
    assert lockouts[1].seconds_locked("carla") == LOCKOUT_MINUTES * 60
    assert lockouts[1].seconds_locked("dora") == 0
    first.dispose()
    second.dispose()


@pytest.mark.parametrize(
    ("proxies", "says"),
    [
        (["*"], "[0] = '*' is not an IP address or CIDR network"),
        (["10.0.0.1", "proxy.internal"], "[1] = 'proxy.internal' is not an IP address"),
    ],
)
def test_trusted_proxies_must_be_addresses_or_networks(proxies: list[str], says: str) -> None:
    with pytest.raises(ValidationError, match=r"gateway\.trusted_proxies") as refused:
        PlatformSettings(gateway={"trusted_proxies": proxies})  # type: ignore[arg-type]

    assert says in str(refused.value)


def test_trusted_proxies_are_kept_as_networks() -> None:
    settings = PlatformSettings(
        gateway={"trusted_proxies": ["10.0.0.5", "10.1.2.3/8", "::1"]}  # type: ignore[arg-type]
    )

    assert settings.gateway.trusted_proxies == ["10.0.0.5/32", "10.0.0.0/8", "::1/128"]


@pytest.mark.slow
@pytest.mark.redis
def test_the_served_gateway_ignores_a_spoofed_forwarded_for_and_counts_across_workers(
    tmp_path: Path, redis_url: str
) -> None:
    database_url = f"sqlite:///{tmp_path / 'metadata.db'}"
    store = MetadataStore(database_url)
    store.upgrade()
    settings = platform_settings(database_url, tmp_path / "lake")
    auth = Auth.create(settings, store, [product.name for product in discover_products()])
    auth.roles.ensure_builtin()
    password = generate_password()
    auth.users.create("ana", password, ["viewer"], "test")
    with served_gateway(
        tmp_path,
        workers=2,
        GATEWAY__ANONYMOUS_RATE_LIMIT="10/hour",
        GATEWAY__RATE_LIMIT_STORAGE=redis_url.replace("redis://", "async+redis://", 1),
        AUTH__LOCKOUT_FAILURES="3",
    ) as url:
        # Whichever worker answers, the account's failures add up and its lock holds.
        guesses = [
            post_login(url, "ana", "wrong-guess", forwarded_for=f"192.0.2.{n}") for n in range(3)
        ]
        locked = post_login(url, "ana", password, forwarded_for="192.0.2.9")
        # And the address's logins add up in Redis: 4 so far, 6 more before the limit.
        sprayed = [
            post_login(url, f"user-{n}", "Winter2026!", forwarded_for=f"198.51.100.{n}")
            for n in range(40)
        ]

    assert [guess.status_code for guess in guesses] == [401, 401, 401]
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert "`ana` is locked" in locked.json()["detail"]
    assert [answer.status_code for answer in sprayed] == [401] * 6 + [429] * 34
    store.dispose()


@contextlib.contextmanager
def served_gateway(tmp_path: Path, workers: int, **settings: str) -> Iterator[str]:
    """`dataplatform serve` as a real process (uvicorn as deployed) on a free loopback port."""
    port = free_port()
    env = {
        **os.environ,
        "DATAPLATFORM_DATABASE_URL": f"sqlite:///{tmp_path / 'metadata.db'}",
        "DATAPLATFORM_LAKE_ROOT": str(tmp_path / "lake"),
        "DATAPLATFORM_AUTH__JWT_SECRET": TEST_JWT_SECRET,
        **{f"DATAPLATFORM_{name}": value for name, value in settings.items()},
    }
    command = [CLI, "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not answers(url):
            assert server.poll() is None, f"`dataplatform serve` exited with {server.returncode}"
            assert time.monotonic() < deadline, "the gateway did not answer within 120 s"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(60)


def post_login(url: str, username: str, password: str, forwarded_for: str) -> httpx.Response:
    return httpx.post(
        f"{url}/auth/token",
        data={"username": username, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=30,
    )


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health").status_code == 200
    except httpx.TransportError:
        return False
