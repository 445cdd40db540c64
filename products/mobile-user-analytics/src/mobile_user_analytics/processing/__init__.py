"""What mobile-user-analytics computes: its silver and gold models, one `.sql` file per table,
but for the activity windows (one template, a table per grain), gold.identity_links (core's
model, shared with web, over silver.app_events) and silver.person_properties (core's Python
model over bronze: each person's latest traits, for insights' person filters).

Silver types and deduplicates the app events, then cuts them into sessions. Gold aggregates:
activity windows of a minute, an hour and a day; a summary per user, and per user and day;
DAU, WAU and MAU; retention cohorts; and adoption and crashes per app version.

Who counts as a user (in every model): the signed-in `user_id`, or, for events sent before
sign-in, the install's `anonymous_id`.

The setting `event_roles` (a mapping) reaches the SQL one role at a time, as
`var('event_roles.purchase')` (a list of names): silver.app_events gives each event its role
once, and every model counts by that role.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dataplatform.core.config import ProductSettings
from dataplatform.core.processing import (
    Model,
    identity_links_model,
    load_models,
    load_sql_template,
    person_properties_model,
)
from dataplatform.core.product_context import ProductContext

FOLDER = Path(__file__).parent
# gold.activity_1m, _1h and _1d: one template, a table per grain (unit of date_trunc).
ACTIVITY_GRAINS = {"1m": "minute", "1h": "hour", "1d": "day"}


def models(context: ProductContext[Any]) -> Sequence[Model]:
    """The product's models, with `var('name')` reading the product's settings in force."""
    variables = sql_variables(context.settings)
    return [
        *load_models(FOLDER, variables=variables),
        *(
            load_sql_template(
                FOLDER / "gold_activity.sql.jinja", {"suffix": suffix, "unit": unit}, variables
            )
            for suffix, unit in ACTIVITY_GRAINS.items()
        ),
        identity_links_model("silver.app_events", anonymous_id_of="an install"),
        person_properties_model("bronze.app_events"),
    ]


def sql_variables(settings: ProductSettings) -> dict[str, Any]:
    """The settings as `var(...)` reads them, each role of `event_roles` under its own name."""
    values = settings.model_dump()
    # var() writes strings, numbers and lists into SQL, not mappings.
    roles = values.pop("event_roles", {})
    return {**values, **{f"event_roles.{role}": names for role, names in roles.items()}}
