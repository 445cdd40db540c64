"""What mobile-user-analytics computes: its silver and gold models, one `.sql` file per table.

The richer models (sessions, 1-minute windows, active users, retention, crashes, per-user
summaries) arrive with this product's own issue; today it deduplicates and types its events.
"""

from collections.abc import Sequence
from pathlib import Path

from dataplatform.core.processing import Model, load_models


def models() -> Sequence[Model]:
    return load_models(Path(__file__).parent)
