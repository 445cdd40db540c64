"""What mobile-user-analytics computes: its silver and gold models, one `.sql` file per table.

Silver types and deduplicates the app events, then cuts them into sessions. Gold aggregates:
activity windows of a minute, an hour and a day; a summary per user, and per user and day;
DAU, WAU and MAU; retention cohorts; and adoption and crashes per app version.

Who counts as a user (in every model): the signed-in `user_id`, or, for events sent before
sign-in, the install's `anonymous_id`.
"""

from collections.abc import Sequence
from pathlib import Path

from dataplatform.core.config import ProductSettings
from dataplatform.core.processing import Model, load_models


def models(settings: ProductSettings) -> Sequence[Model]:
    """The product's models, with `var('name')` reading the product's settings in force."""
    return load_models(Path(__file__).parent, variables=settings)
