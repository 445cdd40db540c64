"""What mobile-user-analytics computes: its silver and gold models, one `.sql` file per table.

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
from dataplatform.core.processing import Model, load_models
from dataplatform.core.product_context import ProductContext


def models(context: ProductContext[Any]) -> Sequence[Model]:
    """The product's models, with `var('name')` reading the product's settings in force."""
    return load_models(Path(__file__).parent, variables=sql_variables(context.settings))


def sql_variables(settings: ProductSettings) -> dict[str, Any]:
    """The settings as `var(...)` reads them, each role of `event_roles` under its own name."""
    values = settings.model_dump()
    # var() writes strings, numbers and lists into SQL, not mappings.
    roles = values.pop("event_roles", {})
    return {**values, **{f"event_roles.{role}": names for role, names in roles.items()}}
