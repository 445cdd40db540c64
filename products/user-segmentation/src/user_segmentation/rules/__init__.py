"""Rule segments: the JSON filter grammar, its SQL, and who meets it."""

from user_segmentation.rules._compile import compile_filter
from user_segmentation.rules._evaluate import members
from user_segmentation.rules._grammar import (
    AllOf,
    AnyOf,
    Condition,
    definition_json,
    parse_definition,
)

__all__ = [
    "AllOf",
    "AnyOf",
    "Condition",
    "compile_filter",
    "definition_json",
    "members",
    "parse_definition",
]
