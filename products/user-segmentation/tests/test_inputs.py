"""The input tables the tests write hand-made rows into have the columns and types their
producers' models declare, so the features model reads what those products really publish."""

from types import SimpleNamespace

import duckdb
import pytest

from dataplatform.core.processing import SqlModel
from dataplatform.core.product import get_product

PRODUCED = {
    "web_user_analytics.gold.session_events": ("web-user-analytics", "gold.session_events"),
    "mobile_user_analytics.gold.user_days": ("mobile-user-analytics", "gold.user_days"),
    "web_user_analytics.gold.identity_links": ("web-user-analytics", "gold.identity_links"),
    "mobile_user_analytics.gold.identity_links": ("mobile-user-analytics", "gold.identity_links"),
}


def declared_types(product: str, table: str) -> dict[str, str] | None:
    """Column -> DuckDB type as the producing model's header declares them; None without one."""
    for model in get_product(product).model_list():
        if model.name == table and isinstance(model, SqlModel):
            return {name: str(spec.type) for name, spec in model.header.columns.items()}
    return None


@pytest.mark.parametrize("table", sorted(PRODUCED))
def test_the_hand_made_inputs_match_what_their_products_publish(
    table: str, kit: SimpleNamespace
) -> None:
    declared = declared_types(*PRODUCED[table])
    assert declared is not None, f"{PRODUCED[table][0]} does not publish {PRODUCED[table][1]}"
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        for column in kit.SCHEMAS[table]:
            assert column.name in declared, f"{table} has no column {column.name}"
            wanted = connection.sql(f"select null::{declared[column.name]} as c").arrow().schema
            assert wanted.field("c").type == column.type, (table, column.name)
