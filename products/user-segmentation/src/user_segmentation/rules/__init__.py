"""Rule segments: the JSON filter grammar, its SQL, and who meets it."""

from user_segmentation.rules._compile import compile_filter, compile_named
from user_segmentation.rules._evaluate import members
from user_segmentation.rules._grammar import (
    OPS_OF_KIND,
    AllOf,
    AnyOf,
    Condition,
    definition_json,
    parse_definition,
)

__all__ = [
    "OPS_OF_KIND",
    "AllOf",
    "AnyOf",
    "Condition",
    "compile_filter",
    "compile_named",
    "definition_json",
    "members",
    "parse_definition",
]
