"""Lineage over a small real graph on SQLite and PostgreSQL: the shop product (bronze events ->
silver events -> three gold tables) and a second product reading its user summary through
`source(...)`, both run by the model runner so their column lineage is recorded."""

import textwrap
from pathlib import Path

import pytest
from fastapi import APIRouter
from shop_models import BRONZE, BRONZE_SCHEMA, EVENTS, FIRST, MINUTE_USERS, MINUTES, SUMMARY
from shop_models import write_models as write_shop_models

from dataplatform.core.config import ProductSettings
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import InvalidRequestError, NotFoundError
from dataplatform.core.processing import ColumnEdge, ModelRunner, load_sql_models
from dataplatform.core.product import Product, Table
from dataplatform.platform.catalog import DataCatalog, Lineage, LineageEdge

TOP_USERS = "shop_reports.gold.top_users"
TOP_USERS_SQL = """
    /* ---
    name: gold.top_users
    materialized: replace
    description: Users who spent something, from the shop's user summary.
    columns:
      user_id: {type: varchar, tags: [pii]}
      revenue: {type: double}
    --- */
    select user_id, revenue from source('shop', 'gold.user_summary') where revenue > 0
    """


def product(name: str, folder: Path, tables: tuple[Table, ...]) -> Product:
    (folder / "product_config.yaml").write_text("schedule_seconds: 5\n")
    return Product(
        name=name,
        owner=f"{name}-team",
        prefix=f"/{name}",
        description=f"The {name} test product.",
        config_dir=folder,
        settings_class=ProductSettings,
        router=APIRouter,
        storage_tables=tables,
        models=lambda _settings: load_sql_models(folder),
    )


@pytest.fixture
def shop(tmp_path: Path) -> Product:
    folder = write_shop_models(tmp_path / "shop")
    return product(
        "shop",
        folder,
        (Table("bronze.events", "Shop events as sent.", schema=BRONZE_SCHEMA, pii=("user_id",)),),
    )


@pytest.fixture
def reports(tmp_path: Path) -> Product:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "gold_top_users.sql").write_text(textwrap.dedent(TOP_USERS_SQL).lstrip())
    return product("shop-reports", folder, ())


@pytest.fixture
def catalog(store: MetadataStore, lake: Lakehouse, shop: Product, reports: Product) -> DataCatalog:
    registered = DataCatalog(store, lake)
    registered.register_products([shop, reports])
    return registered


@pytest.fixture
def ran(
    catalog: DataCatalog, store: MetadataStore, lake: Lakehouse, shop: Product, reports: Product
) -> DataCatalog:
    lake.append(BRONZE, FIRST)
    for each in (shop, reports):
        results = ModelRunner(each.model_graph(), lake, store).run()
        assert {result.status for result in results} == {"succeeded"}, results
    return catalog


def tables_of(lineage: Lineage) -> dict[str, tuple[str, int]]:
    return {node.id: (node.side, node.distance) for node in lineage.nodes}


def test_table_lineage_comes_from_the_model_graphs_before_any_run(catalog: DataCatalog) -> None:
    lineage = catalog.get_lineage(TOP_USERS, "upstream", depth=1)

    assert tables_of(lineage) == {TOP_USERS: ("root", 0), SUMMARY: ("upstream", 1)}
    assert lineage.edges == [LineageEdge(SUMMARY, TOP_USERS, TOP_USERS)]
    assert lineage.column_edges == []  # recorded when the models run


def test_upstream_crosses_products_and_depth_limits_the_hops(ran: DataCatalog) -> None:
    one = ran.get_lineage(TOP_USERS, "upstream", depth=1)
    three = ran.get_lineage(TOP_USERS, "upstream", depth=3)

    assert tables_of(one) == {TOP_USERS: ("root", 0), SUMMARY: ("upstream", 1)}
    assert tables_of(three) == {
        TOP_USERS: ("root", 0),
        SUMMARY: ("upstream", 1),
        EVENTS: ("upstream", 2),
        BRONZE: ("upstream", 3),
    }
    assert three.edges == sorted(
        [
            LineageEdge(SUMMARY, TOP_USERS, TOP_USERS),
            LineageEdge(EVENTS, SUMMARY, SUMMARY),
            LineageEdge(BRONZE, EVENTS, EVENTS),
        ]
    )
    assert one.column_edges == [
        ColumnEdge(SUMMARY, "revenue", TOP_USERS, "revenue"),
        ColumnEdge(SUMMARY, "user_id", TOP_USERS, "user_id"),
    ]


def test_downstream_and_both_directions(ran: DataCatalog) -> None:
    one = ran.get_lineage(EVENTS, "downstream", depth=1)
    two = ran.get_lineage(EVENTS, "downstream", depth=2)
    both = ran.get_lineage(SUMMARY, "both", depth=1)

    assert tables_of(one) == {
        EVENTS: ("root", 0),
        SUMMARY: ("downstream", 1),
        MINUTES: ("downstream", 1),
        MINUTE_USERS: ("downstream", 1),
    }
    assert tables_of(two) == {**tables_of(one), TOP_USERS: ("downstream", 2)}
    assert tables_of(both) == {
        SUMMARY: ("root", 0),
        EVENTS: ("upstream", 1),
        TOP_USERS: ("downstream", 1),
    }


def test_a_column_follows_column_edges_only(ran: DataCatalog) -> None:
    revenue = ran.get_lineage(TOP_USERS, "upstream", depth=5, column="revenue")
    nearest = ran.get_lineage(TOP_USERS, "upstream", depth=1, column="revenue")

    # top_users.revenue <- user_summary.revenue <- sum(silver amount) <- bronze amount; the
    # summary's read of its own output (this()) is no edge.
    assert {node.id: (node.table, node.column, node.distance) for node in revenue.nodes} == {
        f"{TOP_USERS}.revenue": (TOP_USERS, "revenue", 0),
        f"{SUMMARY}.revenue": (SUMMARY, "revenue", 1),
        f"{EVENTS}.amount": (EVENTS, "amount", 2),
        f"{BRONZE}.amount": (BRONZE, "amount", 3),
    }
    assert revenue.edges == sorted(
        [
            LineageEdge(f"{SUMMARY}.revenue", f"{TOP_USERS}.revenue", TOP_USERS),
            LineageEdge(f"{EVENTS}.amount", f"{SUMMARY}.revenue", SUMMARY),
            LineageEdge(f"{BRONZE}.amount", f"{EVENTS}.amount", EVENTS),
        ]
    )
    assert [node.id for node in nearest.nodes] == [f"{SUMMARY}.revenue", f"{TOP_USERS}.revenue"]


def test_a_column_downstream_reaches_every_column_computed_from_it(ran: DataCatalog) -> None:
    user_id = ran.get_lineage(EVENTS, "downstream", depth=2, column="user_id")

    assert {node.id: node.distance for node in user_id.nodes} == {
        f"{EVENTS}.user_id": 0,
        f"{SUMMARY}.user_id": 1,
        f"{MINUTE_USERS}.users": 1,  # count(distinct user_id)
        f"{TOP_USERS}.user_id": 2,
    }


def test_unknown_table_and_column_are_not_found_with_a_suggestion(ran: DataCatalog) -> None:
    with pytest.raises(
        NotFoundError, match=r"No table `shop.gold.user_sumary`.*`shop.gold.user_summary`"
    ):
        ran.get_lineage("shop.gold.user_sumary")
    with pytest.raises(NotFoundError, match=r"no column `revenu`.*Did you mean `revenue`"):
        ran.get_lineage(TOP_USERS, column="revenu")
    with pytest.raises(InvalidRequestError, match="`depth` must be 1 or more"):
        ran.get_lineage(TOP_USERS, depth=0)
