"""The features gold.user_features holds per person, and what kind of value each one is.

Rule segments filter on them (a number compares with numbers, a text with texts) and the
clustering reads the numeric ones. The model's header (processing/gold_user_features.sql)
describes each column; a test holds the two to the same names and types.
"""

from typing import Literal

FeatureKind = Literal["number", "text", "boolean"]

# Every feature a rule may name; person_id, first/last seen, as_of, top_pages and top_screens
# (lists) are described in the table but not filtered on.
FEATURES: dict[str, FeatureKind] = {
    "identified": "boolean",
    "recency_days": "number",
    "frequency": "number",
    "monetary": "number",
    "purchases": "number",
    "events": "number",
    "sessions_per_week": "number",
    "mobile_share": "number",
    "last_platform": "text",
    "active_days": "number",
    "funnel_step": "number",
}

NUMERIC_FEATURES = tuple(name for name, kind in FEATURES.items() if kind == "number")
