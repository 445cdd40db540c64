"""gold.activity_1m, _1h and _1d are one template instantiated per grain, and gold.identity_links
is core's shared model over silver.app_events: one definition each, with the column lineage the
catalog shows unchanged."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import mobile_user_analytics.processing
from dataplatform.core.processing import ColumnEdge, SqlModel, identity_links_model
from mobile_user_analytics.product import product

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NS = "mobile_user_analytics"
EVENTS = f"{NS}.silver.app_events"
GRAINS = {"gold.activity_1m": "minute", "gold.activity_1h": "hour", "gold.activity_1d": "day"}
ROLE_COUNTS = [
    "screen_views",
    "app_opens",
    "app_backgrounds",
    "taps",
    "add_to_carts",
    "purchases",
    "crashes",
    "other_events",
]
# Output column -> the silver.app_events columns it is computed from, read off the SQL by hand.
ACTIVITY_SOURCES = {
    "window_start": {"timestamp"},
    "platform": {"platform"},
    "app_version": {"app_version"},
    "events": {"*"},  # count(*): the rows themselves
    **{column: {"role"} for column in ROLE_COUNTS},
    "active_users": {"user_id", "anonymous_id"},
}
LINK_SOURCES = {
    "user_id": {"user_id"},
    "anonymous_id": {"anonymous_id", "properties"},  # an alias's previousId
    "first_linked_at": {"timestamp"},
    "last_linked_at": {"timestamp"},
}


def sql_models() -> dict[str, SqlModel]:
    return {
        model.name: model
        for model in product.model_list(product.context())
        if isinstance(model, SqlModel)
    }


def sources_by_column(edges: list[ColumnEdge], target: str) -> dict[str, set[str]]:
    """The recorded lineage of `target` from silver.app_events, as output column -> inputs."""
    found: dict[str, set[str]] = {}
    for edge in edges:
        # count(*) also records the CTEs it counts (`activity`, `touched`) as pseudo-tables; only
        # the lake's tables are compared here.
        if edge.target_table == target and edge.source_table == EVENTS:
            found.setdefault(edge.target_column, set()).add(edge.source_column)
    return found


@pytest.fixture(scope="module")
def recorded_lineage(
    new_pipeline: Callable[..., Any], app_event: Callable[..., Any]
) -> list[ColumnEdge]:
    pipeline = new_pipeline()
    pipeline.send([app_event("e1", T0, user="ana", install="ana-phone")])
    pipeline.run(["silver.app_events", *GRAINS, "gold.identity_links"])
    return list(
        pipeline.runner.runs.lineage([f"{NS}.{name}" for name in [*GRAINS, "gold.identity_links"]])
    )


def test_the_three_activity_tables_are_one_template_differing_by_grain_only() -> None:
    models = sql_models()
    minute = models["gold.activity_1m"]

    assert {models[name].path for name in GRAINS} == {
        Path(mobile_user_analytics.processing.__file__).parent / "gold_activity.sql.jinja"
    }
    for name, unit in GRAINS.items():
        model = models[name]
        in_minutes = model.sql.replace(f"'{unit}'", "'minute'").replace(f"'1 {unit}'", "'1 minute'")
        assert in_minutes == minute.sql
        assert model.header.model_dump(exclude={"name", "description", "columns"}) == (
            minute.header.model_dump(exclude={"name", "description", "columns"})
        )
        assert model.header.description.startswith(f"1-{unit} windows per platform")
        assert list(model.header.columns) == list(ACTIVITY_SOURCES)
    assert models["gold.activity_1d"].header.columns["window_start"].description == (
        "The day (UTC midnight)."
    )
    assert models["gold.activity_1h"].header.columns["window_start"].description == (
        "The hour (UTC)."
    )


def test_identity_links_is_cores_shared_model_over_the_app_events() -> None:
    model = sql_models()["gold.identity_links"]

    assert model == identity_links_model("silver.app_events", anonymous_id_of="an install")
    assert not list(Path(mobile_user_analytics.processing.__file__).parent.glob("*identity*"))


@pytest.mark.parametrize("name", list(GRAINS))
def test_each_activity_table_keeps_its_column_lineage(
    recorded_lineage: list[ColumnEdge], name: str
) -> None:
    assert sources_by_column(recorded_lineage, f"{NS}.{name}") == ACTIVITY_SOURCES


def test_identity_links_keeps_its_column_lineage(recorded_lineage: list[ColumnEdge]) -> None:
    assert sources_by_column(recorded_lineage, f"{NS}.gold.identity_links") == LINK_SOURCES
