"""`dataplatform users` and `keys`: the first admin, with a prompted or generated password, and
API keys, each working at a real gateway afterwards and never stored in the clear."""

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import text

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.product import discover_products
from dataplatform.platform.collector import serve_in_background
from dataplatform.platform.gateway import create_gateway
from dataplatform.platform.services import Services
from dataplatform.testing import TEST_JWT_SECRET, platform_settings

CLI = str(Path(sys.executable).with_name("dataplatform"))
CACHE_SECONDS = 0.5  # how long the gateway trusts a lookup: a revocation elsewhere waits this


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(tmp_path / "lake"),
        "DATAPLATFORM_DATABASE_URL": f"sqlite:///{tmp_path / 'metadata.db'}",
        "DATAPLATFORM_AUTH__JWT_SECRET": TEST_JWT_SECRET,
        "COLUMNS": "200",
    }


@pytest.fixture
def gateway_url(environment: dict[str, str], tmp_path: Path) -> Iterator[str]:
    settings = platform_settings(
        environment["DATAPLATFORM_DATABASE_URL"],
        tmp_path / "lake",
        auth={"jwt_secret": TEST_JWT_SECRET, "cache_seconds": CACHE_SECONDS},
    )
    MetadataStore(settings.database_url).upgrade()
    with serve_in_background(create_gateway(Services.start(settings, discover_products()))) as url:
        yield url


def cli(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], env=environment, capture_output=True, text=True, timeout=120
    )


def login(url: str, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{url}/auth/token", data={"username": username, "password": password})


def test_a_generated_password_is_printed_once_and_works(
    environment: dict[str, str], gateway_url: str
) -> None:
    created = cli(environment, "users", "create", "root", "--admin", "--generate-password")

    assert created.returncode == 0, created.stderr
    password = re.search(r"password: (\S+)", created.stdout).group(1)  # type: ignore[union-attr]
    token = login(gateway_url, "root", password)
    assert token.status_code == 200
    me = httpx.get(
        f"{gateway_url}/auth/me",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert me.json()["roles"] == ["admin"]
    listed = cli(environment, "users", "list").stdout
    assert "root" in listed and password not in listed
    with MetadataStore(environment["DATAPLATFORM_DATABASE_URL"]).session() as session:
        stored = session.execute(text("select password_hash from users")).scalar_one()
    assert stored.startswith("$argon2id$") and password not in stored


def test_a_prompted_password_is_asked_twice_on_the_terminal(
    environment: dict[str, str], gateway_url: str
) -> None:
    chosen = "chosen-at-the-prompt-42"
    main, terminal = pty.openpty()
    # In a session of its own whose controlling terminal is the pty on its stdin, so getpass talks
    # to it as to a person's terminal, whatever terminal the tests run in. `setsid --ctty` does it
    # after the fork: Python in a forked child of this threaded process is unsafe (segfaults seen).
    process = subprocess.Popen(
        ["setsid", "--ctty", CLI, "users", "create", "ops", "--admin"],
        env=environment,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    seen = b""
    for prompt in (b"Password: ", b"Repeat for confirmation: "):
        # getpass turns echo off (dropping input typed ahead) before it writes its prompt: type
        # only once the whole prompt is there.
        while not seen.endswith(prompt):
            ready, _, _ = select.select([main], [], [], 30)
            assert ready, f"no {prompt!r} on the terminal; it showed {seen!r}"
            seen += os.read(main, 1024)
        os.write(main, f"{chosen}\n".encode())
    assert process.wait(60) == 0
    os.close(main)

    assert chosen.encode() not in seen  # the terminal did not echo it
    assert login(gateway_url, "ops", chosen).status_code == 200


def test_without_a_terminal_the_password_must_be_generated(environment: dict[str, str]) -> None:
    refused = subprocess.run(
        [CLI, "users", "create", "ops", "--admin"],
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert refused.returncode != 0
    assert "pass --generate-password" in refused.stderr


def test_an_api_key_from_the_command_line_works_until_revoked(
    environment: dict[str, str], gateway_url: str
) -> None:
    created = cli(environment, "keys", "create", "etl", "--role", "viewer")
    secret = re.search(r"key: (dpk_\S+)", created.stdout).group(1)  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {secret}"}

    assert httpx.get(f"{gateway_url}/mobile/tables", headers=headers).status_code == 200
    assert secret not in cli(environment, "keys", "list").stdout
    assert cli(environment, "keys", "revoke", "etl").returncode == 0
    # Revoked in another process: the gateway refuses the key once its cached lookup expires.
    time.sleep(CACHE_SECONDS * 2)
    refused = httpx.get(f"{gateway_url}/mobile/tables", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The API key is unknown, revoked or expired."
