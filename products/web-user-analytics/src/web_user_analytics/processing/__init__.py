"""What web-user-analytics computes: its silver and gold models.

silver.page_views types and deduplicates the clickstream incrementally; silver.user_agents
(Python: ua-parser) and silver.identities are merged dimensions. The gold models sessionise and
aggregate, and are recomputed from silver on every run (see gold_session_events.sql for why).
Settings reach the SQL through `var(...)`.
"""

from collections.abc import Sequence
from pathlib import Path

from dataplatform.core.processing import Model, load_models
from web_user_analytics.processing.user_agents import user_agents


def models() -> Sequence[Model]:
    from web_user_analytics.product import product  # the settings class is declared there

    return load_models(Path(__file__).parent, [user_agents], variables=product.settings())
