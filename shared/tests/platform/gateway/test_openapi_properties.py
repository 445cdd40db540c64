"""Every operation of the gateway's OpenAPI document, driven with generated and boundary values by
schemathesis, answers without a server error.

The document comes from the routers the gateway mounts (as the RBAC matrix builds its route
table), and a test checks that the running gateway takes the same inputs. The calls go to a gateway on
loopback with every product installed, with an admin's token, so each route gets past its
permission to the code that reads the input. The run is reproducible (a fixed seed, deterministic
generation) and bounded: a few generated examples per operation, plus schemathesis' coverage phase
(the edges of every range, type and length the document declares).
"""

import copy
import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from dataplatform.core.product import discover_products
from dataplatform.platform.gateway._app import gateway_routers
from dataplatform.testing import RunningGateway, platform_settings, running_gateway

# Not under pytest-xdist: its workers drop the operations schemathesis runs as subtests, and the
# test would pass having called nothing (`make test` runs this module in a serial pytest).
pytestmark = pytest.mark.serial

EXAMPLES_PER_OPERATION = 8
# Each would end the test's own session: deleting or changing a user or a role can take away
# the admin the calls run as (its password, its role), and then every later call is a 401.
BREAKS_THE_SESSION = (
    ("DELETE", "/admin/users/{username}"),
    ("PATCH", "/admin/users/{username}"),
    ("DELETE", "/admin/roles/{name}"),
    ("PUT", "/admin/roles/{name}"),
)


@functools.cache
def gateway_document() -> dict[str, Any]:
    """The OpenAPI document of the gateway's API routes, from the routers the gateway mounts."""
    app = FastAPI(title="Data Platform")
    for router in gateway_routers():
        app.include_router(router)
    for product in discover_products():
        app.include_router(product.router(product.context()), prefix=product.prefix)
    return app.openapi()


# Dates and times over Python's whole range, its edges and the platform's first: near year 1 or
# 9999 is where day arithmetic and zone conversions overflow, which the default formats (close
# to today) never reach. The edges are a branch of their own, so that a few examples reach them.
EDGE_DAYS = (date.min, date.max, date(1999, 12, 31), date(2000, 1, 1), date(2101, 1, 1))
ZONES = (UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)))
EDGE_TIMES = tuple(
    datetime.combine(day, time, zone)
    for day in (date.min, date.max)
    for time, zone in ((datetime.min.time(), ZONES[1]), (datetime.max.time(), ZONES[2]))
)
schemathesis.openapi.format(
    "date", st.one_of(st.sampled_from(EDGE_DAYS), st.dates()).map(date.isoformat)
)
schemathesis.openapi.format(
    "date-time",
    st.one_of(st.sampled_from(EDGE_TIMES), st.datetimes(timezones=st.sampled_from(ZONES))).map(
        datetime.isoformat
    ),
)

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261130,
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True},
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(copy.deepcopy(gateway_document()), config=CONFIG)
for method, path in BREAKS_THE_SESSION:
    schema = schema.exclude(method=method, path=path)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    folder: Path = tmp_path_factory.mktemp("properties")
    settings = platform_settings(
        f"sqlite:///{folder / 'metadata.db'}",
        folder / "lake",
        # Thousands of calls from one caller: the throttle is not what this test is about.
        gateway={"rate_limit": "1000000/minute", "anonymous_rate_limit": "1000000/minute"},
    )
    with running_gateway(settings) as running:
        yield running


@pytest.fixture(scope="module")
def admin(gateway: RunningGateway) -> dict[str, str]:
    return gateway.admin


def inputs(paths: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """What a client sends to each operation: its parameters and its body."""
    return {
        (method, path): (operation.get("parameters"), operation.get("requestBody"))
        for path, operations in paths.items()
        for method, operation in operations.items()
    }


def test_the_document_takes_the_inputs_the_running_gateway_takes(gateway: RunningGateway) -> None:
    document = gateway_document()
    served = httpx.get(f"{gateway.url}/openapi.json").json()

    api = {path: ops for path, ops in served["paths"].items() if path in document["paths"]}
    assert inputs(api) == inputs(document["paths"])
    schemas = served["components"]["schemas"]
    assert {name: schemas.get(name) for name in document["components"]["schemas"]} == (
        document["components"]["schemas"]
    )


def numbers(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, schema) of every integer or number a client sends: parameters and body fields."""
    components = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} {parameter['in']}.{parameter['name']}"
                yield from _numbers_in(where, parameter["schema"], components)
            body = operation.get("requestBody", {}).get("content", {})
            for content in body.values():
                yield from _numbers_in(
                    f"{method.upper()} {path} body", content["schema"], components
                )


def _numbers_in(
    where: str,
    schema: dict[str, Any],
    components: dict[str, Any],
    seen: frozenset[str] = frozenset(),
) -> Iterator[tuple[str, dict[str, Any]]]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _numbers_in(where, components[name], components, seen | {name})
        return
    if schema.get("type") in ("integer", "number"):
        yield where, schema
    for alternative in schema.get("anyOf", []) + schema.get("allOf", []):
        yield from _numbers_in(where, alternative, components, seen)
    for name, field in schema.get("properties", {}).items():
        yield from _numbers_in(f"{where}.{name}", field, components, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _numbers_in(f"{where}[]", schema[key], components, seen)


def test_every_number_a_client_sends_is_bounded_both_ways() -> None:
    unbounded = [
        where
        for where, schema in numbers(gateway_document())
        if not ({"minimum", "exclusiveMinimum"} & schema.keys())
        or not ({"maximum", "exclusiveMaximum"} & schema.keys())
    ]

    assert unbounded == []


@schema.parametrize()
def test_no_input_makes_a_server_error(
    case: schemathesis.Case, gateway: RunningGateway, admin: dict[str, str]
) -> None:
    case.call_and_validate(base_url=gateway.url, headers=admin, checks=[not_a_server_error])
