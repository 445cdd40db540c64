"""gold.identity_links is core's shared model over the clickstream: one definition for the web
and mobile products, with the column lineage the catalog shows unchanged."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import web_user_analytics.processing
from dataplatform.core.processing import SqlModel, identity_links_model
from web_user_analytics.product import product

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LINKS = "web_user_analytics.gold.identity_links"
CLICKSTREAM = "web_user_analytics.bronze.clickstream"


def test_identity_links_is_cores_shared_model_over_the_clickstream() -> None:
    models = {model.name: model for model in product.model_list(product.context())}
    model = models["gold.identity_links"]

    assert isinstance(model, SqlModel)
    assert model == identity_links_model("bronze.clickstream", anonymous_id_of="a browser")
    assert not list(Path(web_user_analytics.processing.__file__).parent.glob("*identity_links*"))


def test_identity_links_keeps_its_column_lineage(
    tmp_path: Path,
    sdk: Any,
    to_bronze: Callable[..., None],
    make_models: Callable[[Path], Any],
) -> None:
    with make_models(tmp_path) as models:
        to_bronze(models.lake, [sdk.identify("bo-browser", "bo", T0)])
        models.runner.run(["gold.identity_links"])
        edges = models.runner.runs.lineage([LINKS])

    # Output column -> the clickstream columns it is computed from, read off the SQL by hand.
    assert {(e.source_table, e.source_column, e.target_column) for e in edges} == {
        (CLICKSTREAM, "user_id", "user_id"),
        (CLICKSTREAM, "anonymous_id", "anonymous_id"),
        (CLICKSTREAM, "properties", "anonymous_id"),  # an alias's previousId
        (CLICKSTREAM, "timestamp", "first_linked_at"),
        (CLICKSTREAM, "timestamp", "last_linked_at"),
    }
