"""The catalog describes a table a model writes from the model's header alone, on SQLite and
PostgreSQL: web's gold.sessions has one description, the header's, and its tags."""

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.product import discover_products
from dataplatform.platform.catalog import DataCatalog

SESSIONS = "web_user_analytics.gold.sessions"


def test_a_model_table_is_catalogued_as_its_header_says(
    store: MetadataStore, lake: Lakehouse
) -> None:
    catalog = DataCatalog(store, lake)
    catalog.register_products(discover_products())

    sessions = catalog.get_table(SESSIONS)

    assert sessions.description.startswith("One row per web session (see gold.session_events")
    assert "split after session_timeout_minutes" not in sessions.description  # storage's, gone
    assert sessions.tags == ["gold", "pii"]
    assert set(sessions.pii_columns) == {"visitor_id", "user_id"}
    assert sessions.retention_days == 395
    session_id = next(column for column in sessions.columns if column.name == "session_id")
    assert session_id.description == "The session: the event_id of its first event."
    assert (session_id.type, session_id.tags) == ("varchar", [])
