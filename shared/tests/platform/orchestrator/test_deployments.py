"""Deployments recorded and listed, newest first, on SQLite and PostgreSQL."""

import pytest

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.errors import InvalidRequestError
from dataplatform.platform.deployments import Deployments


def test_listed_newest_first_and_by_product(store: MetadataStore) -> None:
    deployments = Deployments(store)
    deployments.record("web-user-analytics", "1.0.0", "staging", "started", "", "ci")
    deployments.record("web-user-analytics", "1.0.0", "staging", "succeeded", "smoke ok", "ci")
    deployments.record("mobile-user-analytics", "2.1.0", "prod", "running", "", "orchestrator")

    everything = deployments.list()
    web = deployments.list(product="web-user-analytics")
    latest = deployments.list(limit=1)

    assert [(d.product, d.status) for d in everything] == [
        ("mobile-user-analytics", "running"),
        ("web-user-analytics", "succeeded"),
        ("web-user-analytics", "started"),
    ]
    assert [d.status for d in web] == ["succeeded", "started"]
    assert [(d.version, d.environment, d.recorded_by) for d in latest] == [
        ("2.1.0", "prod", "orchestrator")
    ]
    assert web[0].detail == "smoke ok"
    assert web[0].recorded_at >= web[1].recorded_at
    assert web[0].recorded_at.tzinfo is not None


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"status": "deployed"}, "status", "Deployment status `deployed` is not one of started,"),
        ({"environment": "qa"}, "environment", "Environment `qa` is not one of dev, staging, prod"),
        ({"version": ""}, "version", "Deployment `version` must have 1 to 100 characters, not 0"),
        ({"product": "p" * 101}, "product", "must have 1 to 100 characters, not 101"),
    ],
)
def test_refuses_what_the_table_cannot_hold(
    sqlite_url: str, values: dict[str, str], field: str, message: str
) -> None:
    store = MetadataStore(sqlite_url)
    store.upgrade()
    arguments = {
        "product": "web-user-analytics",
        "version": "1.0.0",
        "environment": "dev",
        "status": "running",
        "detail": "",
        "recorded_by": "ci",
        **values,
    }

    with pytest.raises(InvalidRequestError, match=message) as refused:
        Deployments(store).record(**arguments)

    assert refused.value.field == field
    assert Deployments(store).list() == []
