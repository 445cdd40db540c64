"""Models more than one product computes, declared once here as templates; each product
instantiates them over its own input tables (its `processing` lists the instance)."""

from pathlib import Path

from dataplatform.core.processing._models import SqlModel
from dataplatform.core.processing._templates import load_sql_template

SHARED_MODELS = Path(__file__).parent / "shared_models"


def identity_links_model(events: str, anonymous_id_of: str) -> SqlModel:
    """`gold.identity_links`: the user and anonymous ids seen together in `events`.

    `events` is the product's table of envelope events (`<layer>.<table>`: `user_id`,
    `anonymous_id`, `type`, `properties`, `timestamp`); `anonymous_id_of` names whose anonymous
    ids they are, for the header's descriptions: `an install`, `a browser`.
    """
    return load_sql_template(
        SHARED_MODELS / "gold_identity_links.sql.jinja",
        {"events": events, "anonymous_id_of": anonymous_id_of},
    )
