"""The catalog over the installed products, on SQLite and PostgreSQL: registration, statistics
from the Delta log, search, and edits kept as overrides."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.errors import InvalidRequestError, NotFoundError
from dataplatform.core.product import discover_products
from dataplatform.platform.catalog import PLATFORM_OWNER, DataCatalog, TableChanges
from dataplatform.testing import app_events

BRONZE = "mobile_user_analytics.bronze.app_events"
SILVER = "mobile_user_analytics.silver.app_events"
SUMMARY = "mobile_user_analytics.gold.user_summary"
AUDIT_LOG = "platform.gold.audit_log"


@pytest.fixture
def catalog(store: MetadataStore, lake: Lakehouse) -> DataCatalog:
    registered = DataCatalog(store, lake)
    registered.register_products(discover_products())
    return registered


def test_every_declared_table_of_every_product_is_registered(catalog: DataCatalog) -> None:
    declared = {
        product.table_name(table.name)
        for product in discover_products()
        for table in product.tables
    }

    listed = {entry.name for entry in catalog.list_tables()}

    assert listed == declared
    assert {entry.product for entry in catalog.list_tables()} == {
        "compliance-auditing",
        "mobile-user-analytics",
        "operational-metrics",
        "user-segmentation",
        "web-user-analytics",
    }


def test_pii_tags_come_from_declarations_and_model_headers(catalog: DataCatalog) -> None:
    bronze = catalog.get_table(BRONZE)
    silver = catalog.get_table(SILVER)
    summary = catalog.get_table(SUMMARY)

    # The envelope's declared PII columns.
    assert set(bronze.pii_columns) == {"user_id", "anonymous_id", "context", "raw"}
    assert bronze.tags == ["bronze", "pii"]
    assert (bronze.owner, bronze.retention_days) == ("mobile-analytics-team", 395)
    # Declared (user_id, device_id) plus the model header's (user_id, anonymous_id, device_id).
    assert set(silver.pii_columns) == {"user_id", "anonymous_id", "device_id"}
    event_id = next(column for column in silver.columns if column.name == "event_id")
    assert event_id.description == "The SDK's message id."
    # Nothing wrote this table yet: its model header's columns are catalogued all the same.
    columns = [(c.name, c.type, c.tags) for c in summary.columns]
    assert columns[0] == ("user_id", "varchar", ["pii"])
    assert ("signed_in", "boolean", []) in columns
    assert catalog.pii_columns(SUMMARY) == frozenset({"user_id"})


def test_stats_follow_appends_and_an_unchanged_table_is_skipped(
    catalog: DataCatalog, lake: Lakehouse, lake_root: Path
) -> None:
    before = datetime.now(UTC)
    lake.append(BRONZE, app_events("a", "b", "c"))
    lake.append(BRONZE, app_events("d", "e"))
    after = datetime.now(UTC)

    refreshed = catalog.refresh_stats()
    again = catalog.refresh_stats()
    entry = catalog.get_table(BRONZE)

    assert refreshed == [BRONZE]
    assert again == []  # nothing changed: nothing read, nothing stored
    assert (entry.version, entry.row_count, entry.file_count) == (1, 5, 2)
    data_files = list((lake_root / "mobile_user_analytics/bronze/app_events").glob("*.parquet"))
    assert entry.size_bytes == sum(path.stat().st_size for path in data_files)
    assert entry.last_modified is not None
    assert before - timedelta(seconds=1) <= entry.last_modified <= after + timedelta(seconds=1)

    lake.append(BRONZE, app_events("f", "g"))
    assert catalog.refresh_stats([BRONZE]) == [BRONZE]
    assert catalog.get_table(BRONZE).row_count == 7


def test_freshness_is_the_age_of_the_last_commit_when_read(
    catalog: DataCatalog, lake: Lakehouse
) -> None:
    written = datetime.now(UTC)
    lake.append(BRONZE, app_events("a"))
    committed = datetime.now(UTC)
    catalog.refresh_stats([BRONZE])

    read_from = datetime.now(UTC)
    first = catalog.get_table(BRONZE).freshness_seconds
    read_until = datetime.now(UTC)

    assert first is not None
    assert (read_from - committed).total_seconds() - 1 <= first
    assert first <= (read_until - written).total_seconds() + 1
    assert catalog.get_table(SILVER).freshness_seconds is None  # never written


def test_refresh_takes_the_columns_a_table_gained(catalog: DataCatalog, lake: Lakehouse) -> None:
    lake.append(SUMMARY, pa.table({"user_id": ["u1"], "gained": pa.array([3], pa.int64())}))

    catalog.refresh_stats([SUMMARY])
    columns = {column.name: column for column in catalog.get_table(SUMMARY).columns}

    assert (columns["user_id"].type, columns["user_id"].tags) == ("string", ["pii"])
    assert (columns["gained"].type, columns["gained"].tags) == ("int64", [])


def test_platform_tables_are_catalogued_once_they_exist(
    catalog: DataCatalog, lake: Lakehouse
) -> None:
    assert AUDIT_LOG not in {entry.name for entry in catalog.list_tables()}
    lake.append(
        AUDIT_LOG,
        pa.table({"seq": pa.array([1], pa.int64()), "actor": ["alice"], "action": ["auth.login"]}),
    )

    catalog.refresh_stats()
    entry = catalog.get_table(AUDIT_LOG)

    assert (entry.product, entry.owner, entry.row_count) == ("platform", PLATFORM_OWNER, 1)
    assert entry.pii_columns == ["actor"]
    assert entry.tags == ["gold", "pii"]


def test_search_by_name_tag_and_column_says_what_matched(catalog: DataCatalog) -> None:
    by_name = catalog.search("retention")
    by_description = catalog.search("first-seen day")
    by_column = catalog.search("device_id")
    by_tag = catalog.search("pii")

    # The table called so first, then the names containing it, then the rest.
    named = [hit for hit in by_name.hits if hit.matched[0] == "name"]
    assert (named[0].table, by_name.hits[0].table) == ("mobile_user_analytics.gold.retention",) * 2
    assert all("retention" in hit.table.rsplit(".", 1)[1] for hit in named)
    assert by_name.hits[: len(named)] == named  # the names first
    assert [(hit.table, hit.matched) for hit in by_description.hits] == [
        ("mobile_user_analytics.gold.retention", ["description"])
    ]
    assert (SILVER, ["column:device_id"]) in [(hit.table, hit.matched) for hit in by_column.hits]
    assert all(hit.matched == ["column:device_id"] for hit in by_column.hits)
    tagged = {hit.table for hit in by_tag.hits if "tag:pii" in hit.matched}
    assert {BRONZE, SILVER, SUMMARY} <= tagged
    assert "mobile_user_analytics.gold.retention" not in tagged


def test_search_for_a_misspelt_table_suggests_the_right_one(catalog: DataCatalog) -> None:
    result = catalog.search("user_sumary")

    assert result.hits == []
    assert result.hint == "Did you mean `user_summary`?"


def test_edits_are_overrides_that_survive_registration(catalog: DataCatalog) -> None:
    changes = TableChanges(
        description="Events as the apps sent them.",
        owner="data-platform",
        tags=["bronze", "critical"],
        retention_days=30,
        columns={"event": {"description": "What the user did.", "tags": ["business"]}},
    )

    _, changed = catalog.update_table(BRONZE, changes)
    catalog.register_products(discover_products())  # the next start declares the old values
    entry = catalog.get_table(BRONZE)

    assert changed["retention_days"] == {"from": 395, "to": 30}
    assert changed["columns"] == {
        "event": {
            "description": {"from": "", "to": "What the user did."},
            "tags": {"from": [], "to": ["business"]},
        }
    }
    assert (entry.description, entry.owner, entry.retention_days) == (
        "Events as the apps sent them.",
        "data-platform",
        30,
    )
    assert entry.tags == ["bronze", "critical", "pii"]  # pii: its columns still are
    assert sorted(entry.overridden) == ["description", "owner", "retention_days", "tags"]
    event = next(column for column in entry.columns if column.name == "event")
    assert (event.description, event.tags) == ("What the user did.", ["business"])


def test_null_puts_the_declared_value_back(catalog: DataCatalog) -> None:
    catalog.update_table(BRONZE, TableChanges(retention_days=30, owner="someone-else"))

    _, changed = catalog.update_table(BRONZE, TableChanges(retention_days=None))
    entry = catalog.get_table(BRONZE)

    assert changed == {"retention_days": {"from": 30, "to": 395}}
    assert (entry.retention_days, entry.owner) == (395, "someone-else")


def test_tagging_a_column_pii_makes_it_pii(catalog: DataCatalog) -> None:
    catalog.update_table(SILVER, TableChanges(columns={"platform": {"tags": ["pii"]}}))
    assert "platform" in catalog.pii_columns(SILVER)

    # Unmasking is the caller's right to grant (`pii:admin` at the API): here it is granted.
    catalog.update_table(SILVER, TableChanges(columns={"user_id": {"tags": []}}), may_unmask=True)
    assert "user_id" not in catalog.pii_columns(SILVER)


def test_an_unknown_column_is_refused_by_name(catalog: DataCatalog) -> None:
    with pytest.raises(InvalidRequestError) as error:
        catalog.update_table(SILVER, TableChanges(columns={"devise_id": {"tags": ["pii"]}}))

    assert error.value.field == "columns.devise_id"
    assert "has no column `devise_id`. Did you mean `device_id`?" in error.value.message
    entry = catalog.get_table(SILVER)  # nothing of the change was kept
    assert entry.overridden == [] and all(not column.overridden for column in entry.columns)


def test_an_unknown_table_is_not_found_with_a_suggestion(catalog: DataCatalog) -> None:
    with pytest.raises(
        NotFoundError, match=r"Did you mean `mobile_user_analytics.gold.user_summary`"
    ):
        catalog.get_table("mobile_user_analytics.gold.user_sumary")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"retention_days": 0}, "retention_days"),
        ({"owner": ""}, "owner"),
        ({"tags": ["Not A Tag"]}, "tags"),
        ({"tags": ["pii"]}, "tags"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_changes_are_refused_naming_the_field(
    values: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        TableChanges.model_validate(values)

    assert error.value.errors()[0]["loc"][0] == field


def test_an_empty_change_is_refused(catalog: DataCatalog) -> None:
    with pytest.raises(InvalidRequestError, match="sets nothing"):
        catalog.update_table(BRONZE, TableChanges())
