"""What user-segmentation computes: the identity graph, the features and rule segment
membership.

silver.identity_links gathers the identity links of the mobile and web products;
silver.identity_graph (Python: connected components) makes persons of them, published as
gold.identity_graph for other products (the compliance erasure). silver.person_activity keeps
the two products' web events and app days, each with its person; gold.user_features
summarises each person's behaviour from it. gold.segment_changes (Python) judges the persons
whose features changed in every rule segment, and everyone in a segment whose definition
changed, and appends the entries and exits; gold.segment_membership is who is in now. ML
segments are trained by the `train_segments` job (user_segmentation.ml), not by a model:
training is heavier and runs on its own schedule.
"""

from collections.abc import Sequence
from pathlib import Path

from dataplatform.core.funnels import FunnelStep, funnel_progress_sql, funnel_steps_json
from dataplatform.core.processing import Model, load_models, load_sql_template
from dataplatform.core.product_context import ProductContext
from user_segmentation.processing.identity_graph import identity_graph
from user_segmentation.processing.segment_changes import segment_changes
from user_segmentation.settings import UserSegmentationSettings

HERE = Path(__file__).parent


def models(context: ProductContext[UserSegmentationSettings]) -> Sequence[Model]:
    """The product's models, with `var('name')` reading the product's settings in force."""
    settings = context.settings
    variables = {**settings.model_dump(), "funnel_steps": funnel_steps_json(settings.funnel)}
    # A touched person's window is read from this long before the tick's earliest row.
    window = f"{settings.feature_window_days} days"
    # The `funnel` setting's steps, matched over the web events of the feature window.
    funnel_progress = funnel_progress_sql(
        FunnelStep,
        events="web_in_window",
        steps_json="var('funnel_steps')",
        step_count=len(settings.funnel),
    )
    features = {"funnel_progress": funnel_progress, "window": window}
    return [
        *load_models(HERE, [identity_graph, segment_changes], variables),
        load_sql_template(HERE / "gold_user_features.sql.jinja", features, variables),
    ]
