"""SQL over the lake: checked queries (`check_query`) and saved ones (`SavedQueries`)."""

from dataplatform.platform.query._checks import CheckedQuery, check_query, unknown_table
from dataplatform.platform.query._saved import SavedQueries, SavedQuery, SavedQueryRecord

__all__ = [
    "CheckedQuery",
    "SavedQueries",
    "SavedQuery",
    "SavedQueryRecord",
    "check_query",
    "unknown_table",
]
