"""What web-user-analytics computes: its silver and gold models.

silver.page_views types and deduplicates the clickstream incrementally; silver.user_agents
(Python: ua-parser) and silver.identities are merged dimensions. silver.session_state
re-sessionises only the browser-days with new events and gold.session_events publishes what it
rewrote; the other gold models aggregate. silver.person_properties (core's Python model) keeps
each person's latest traits for insights' person filters. Settings reach the SQL through `var(...)`.
"""

from collections.abc import Sequence
from pathlib import Path

from dataplatform.core.processing import (
    Model,
    identity_links_model,
    load_models,
    person_properties_model,
)
from dataplatform.core.product_context import ProductContext
from web_user_analytics.processing.user_agents import user_agents
from web_user_analytics.settings import WebUserAnalyticsSettings


def models(context: ProductContext[WebUserAnalyticsSettings]) -> Sequence[Model]:
    """The product's models, with `var('name')` reading the product's settings in force."""
    return [
        *load_models(Path(__file__).parent, [user_agents], variables=context.settings),
        identity_links_model("bronze.clickstream", anonymous_id_of="a browser"),
        person_properties_model("bronze.clickstream"),
    ]
