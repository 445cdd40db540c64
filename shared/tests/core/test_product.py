from pathlib import Path

import pytest
from fastapi import APIRouter

from dataplatform.core.config import ProductSettings
from dataplatform.core.errors import InvalidNameError, NotFoundError
from dataplatform.core.product import Product, Stream, Table, discover_products, get_product

FIVE = [
    "compliance-auditing",
    "mobile-user-analytics",
    "operational-metrics",
    "user-segmentation",
    "web-user-analytics",
]


def declare(**overrides: object) -> Product:
    fields: dict[str, object] = {
        "name": "checkout-insights",
        "owner": "payments-team",
        "prefix": "/checkout",
        "description": "Checkout funnel.",
        "config_dir": Path("config"),
        "settings_class": ProductSettings,
        "router": APIRouter,
        "storage_tables": (Table("bronze.events", "Raw checkout events."),),
        "streams": (Stream("events", "Checkout events.", "bronze.events", ("web",)),),
    }
    return Product(**{**fields, **overrides})  # type: ignore[arg-type]


def test_the_five_products_are_found_through_entry_points() -> None:
    products = discover_products()

    assert [product.name for product in products] == FIVE
    assert {product.prefix for product in products} == {
        "/mobile",
        "/web",
        "/segments",
        "/ops",
        "/compliance",
    }


def test_a_misspelt_product_gets_a_suggestion() -> None:
    with pytest.raises(NotFoundError, match="Did you mean `web-user-analytics`"):
        get_product("web-user-analytic")


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"name": "Checkout_Insights"}, "kebab-case"),
        ({"prefix": "checkout"}, "must look like `/web`"),
        ({"storage_tables": (Table("platinum.events", "x"),)}, "Layer `platinum`"),
        (
            {"streams": (Stream("events", "x", "silver.events", ("web",)),)},
            "declared bronze tables",
        ),
    ],
)
def test_a_bad_declaration_is_refused_with_the_reason(
    overrides: dict[str, object], complaint: str
) -> None:
    with pytest.raises(InvalidNameError, match=complaint):
        declare(**overrides)


def test_table_names_are_qualified_with_the_product_namespace() -> None:
    product = declare()

    assert product.namespace == "checkout_insights"
    assert product.table_names == ("checkout_insights.bronze.events",)
    assert product.env_prefix == "DATAPLATFORM_CHECKOUT_INSIGHTS_"
