"""One declaration per table: a table a model writes is described by the model's header only;
storage declares the others, and declaring a model's table there again is refused."""

import textwrap
from pathlib import Path

import pytest
from fastapi import APIRouter

from dataplatform.core.config import ProductSettings
from dataplatform.core.errors import InvalidNameError
from dataplatform.core.processing import load_sql_models
from dataplatform.core.product import Product, Table, discover_products, person_columns_of

# The (table, column) pairs `storage/` tagged PII before the tables models write moved to their
# headers: none may be lost.
PII_TAGGED_IN_STORAGE_BEFORE = {
    ("compliance_auditing.gold.access_anomalies", "actor"),
    ("compliance_auditing.gold.column_reads", "actor"),
    ("compliance_auditing.gold.daily_access", "actor"),
    ("compliance_auditing.gold.dormant_key_uses", "key_name"),
    ("compliance_auditing.gold.erasure_requests", "requested_by"),
    ("compliance_auditing.gold.erasure_requests", "subject_hash"),
    ("compliance_auditing.gold.pii_reads", "actor"),
    ("compliance_auditing.silver.data_reads", "actor"),
    ("compliance_auditing.silver.key_activity", "key_name"),
    ("mobile_user_analytics.bronze.app_events", "anonymous_id"),
    ("mobile_user_analytics.bronze.app_events", "context"),
    ("mobile_user_analytics.bronze.app_events", "raw"),
    ("mobile_user_analytics.bronze.app_events", "user_id"),
    ("mobile_user_analytics.gold.identity_links", "anonymous_id"),
    ("mobile_user_analytics.gold.identity_links", "user_id"),
    ("mobile_user_analytics.gold.user_days", "user_id"),
    ("mobile_user_analytics.gold.user_summary", "user_id"),
    ("mobile_user_analytics.silver.app_events", "anonymous_id"),
    ("mobile_user_analytics.silver.app_events", "device_id"),
    ("mobile_user_analytics.silver.app_events", "user_id"),
    ("mobile_user_analytics.silver.sessions", "device_id"),
    ("mobile_user_analytics.silver.sessions", "user_id"),
    ("user_segmentation.gold.ml_assignments", "person_id"),
    ("user_segmentation.gold.segment_changes", "person_id"),
    ("user_segmentation.gold.segment_membership", "person_id"),
    ("user_segmentation.gold.user_features", "person_id"),
    ("user_segmentation.silver.identity_graph", "identifier"),
    ("user_segmentation.silver.identity_graph", "person_id"),
    ("user_segmentation.silver.identity_links", "anonymous_id"),
    ("user_segmentation.silver.identity_links", "user_id"),
    ("web_user_analytics.bronze.clickstream", "anonymous_id"),
    ("web_user_analytics.bronze.clickstream", "context"),
    ("web_user_analytics.bronze.clickstream", "raw"),
    ("web_user_analytics.bronze.clickstream", "user_id"),
    ("web_user_analytics.gold.identity_links", "anonymous_id"),
    ("web_user_analytics.gold.identity_links", "user_id"),
    ("web_user_analytics.gold.session_events", "person_id"),
    ("web_user_analytics.gold.session_events", "user_id"),
    ("web_user_analytics.gold.session_events", "visitor_id"),
    ("web_user_analytics.gold.sessions", "user_id"),
    ("web_user_analytics.gold.sessions", "visitor_id"),
    ("web_user_analytics.gold.visitors_last_seen", "visitor_id"),
    ("web_user_analytics.silver.identities", "anonymous_id"),
    ("web_user_analytics.silver.identities", "user_id"),
    ("web_user_analytics.silver.page_views", "anonymous_id"),
    ("web_user_analytics.silver.page_views", "ip"),
    ("web_user_analytics.silver.page_views", "user_id"),
    ("web_user_analytics.silver.page_views", "visitor_id"),
}

SUMMARY_SQL = """
    /* ---
    name: gold.summary
    materialized: replace
    owner: analytics-team
    time_column: day
    partition_by: [day]
    description: Per user and day, from the header.
    columns:
      user_id: {type: varchar, description: Who., tags: [pii]}
      day: {type: date, description: The UTC day.}
    --- */
    select user_id, cast(timestamp as date) as day from ref('bronze.events')
    """


def shop(folder: Path, storage: tuple[Table, ...], retention: dict[str, int]) -> Product:
    folder.mkdir(exist_ok=True)
    (folder / "product_config.yaml").write_text("schedule_seconds: 5\n")
    (folder / "gold_summary.sql").write_text(textwrap.dedent(SUMMARY_SQL).lstrip())
    return Product(
        name="shop",
        owner="shop-team",
        prefix="/shop",
        description="A shop.",
        config_dir=folder,
        settings_class=ProductSettings,
        router=lambda _context: APIRouter(),
        storage_tables=storage,
        model_retention_days=retention,
        models=lambda _context: load_sql_models(folder),
    )


BRONZE = Table("bronze.events", "Shop events as sent.", pii=("user_id",), retention_days=30)


def test_a_model_table_is_described_by_its_header(tmp_path: Path) -> None:
    product = shop(tmp_path, (BRONZE,), {"gold.summary": 90})

    bronze, summary = product.tables

    assert bronze == BRONZE
    assert (summary.name, summary.description, summary.owner) == (
        "gold.summary",
        "Per user and day, from the header.",
        "analytics-team",
    )
    assert summary.pii == ("user_id",)
    assert summary.partition_by == ("day",)
    assert summary.retention_days == 90
    assert [(c.name, c.type, c.description, c.tags) for c in summary.columns] == [
        ("user_id", "varchar", "Who.", ("pii",)),
        ("day", "date", "The UTC day.", ()),
    ]
    assert product.table_names == ("shop.bronze.events", "shop.gold.summary")
    assert product.context().declarations == product.tables


def test_declaring_a_model_table_in_storage_again_is_refused(tmp_path: Path) -> None:
    again = Table("gold.summary", "Per user, said a second time.", pii=("user_id",))
    product = shop(tmp_path, (BRONZE, again), {})

    with pytest.raises(InvalidNameError) as error:
        _ = product.tables

    assert "declares `gold.summary` in its storage, but a model writes each" in str(error.value)
    assert "remove them from storage" in str(error.value)


def test_a_retention_for_a_table_no_model_writes_is_refused(tmp_path: Path) -> None:
    product = shop(tmp_path, (BRONZE,), {"gold.sumary": 90})

    with pytest.raises(InvalidNameError, match=r"gold\.sumary.*Did you mean `gold.summary`"):
        _ = product.tables


def test_the_installed_products_declare_each_table_once() -> None:
    for product in discover_products():
        names = [table.name for table in product.tables]
        written = {model.name for model in product.model_list()}

        assert len(names) == len(set(names)), product.name
        assert not written & {table.name for table in product.storage_tables}, product.name
        assert written <= set(names), product.name


def test_no_pii_tag_was_lost_moving_tables_to_their_headers() -> None:
    tagged = {
        (table, column)
        for table, columns in person_columns_of(discover_products()).items()
        for column in columns
    }

    assert PII_TAGGED_IN_STORAGE_BEFORE - tagged == set()  # each lost pair named on failure


def test_web_sessions_have_one_description_the_headers() -> None:
    web = next(p for p in discover_products() if p.name == "web-user-analytics")
    sessions = next(table for table in web.tables if table.name == "gold.sessions")
    header = next(model.header for model in web.model_list() if model.name == "gold.sessions")

    assert sessions.description == header.description
    assert sessions.pii == ("visitor_id", "user_id")
    assert sessions.retention_days == 395
