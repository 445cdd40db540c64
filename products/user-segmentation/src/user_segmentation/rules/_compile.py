"""A rule segment's filter as a SQL condition over gold.user_features, values as `?` (or `$vN`) parameters.

Feature names come only from the checked list (and are quoted); values never enter the SQL
text, so a value such as `x' or 1=1 --` stays a value that no row holds.
"""

from collections.abc import Callable
from typing import Any

from user_segmentation.rules._grammar import AllOf, AnyOf, Condition

_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def compile_filter(node: AllOf | AnyOf | Condition) -> tuple[str, list[Any]]:
    """(condition, parameters): `("frequency" >= ? and "last_platform" in (?, ?))`, [3, ...]."""
    values: list[Any] = []
    return _compile(node, values, lambda _: "?"), values


def compile_named(node: AllOf | AnyOf | Condition) -> tuple[str, dict[str, Any]]:
    """The filter with named parameters (`$v0`, `$v1`, ...), for queries that take them."""
    values: list[Any] = []
    condition = _compile(node, values, lambda index: f"$v{index}")
    return condition, {f"v{index}": value for index, value in enumerate(values)}


def _compile(node: AllOf | AnyOf | Condition, values: list[Any], mark: Callable[[int], str]) -> str:
    """The condition's SQL; its values appended to `values`, each written as `mark(position)`."""

    def bind(value: Any) -> str:
        values.append(value)
        return mark(len(values) - 1)

    if isinstance(node, Condition):
        column = f'"{node.feature}"'
        if node.op == "in":
            return f"{column} in ({', '.join(bind(value) for value in node.value)})"
        if node.op == "between":
            low, high = node.value
            return f"{column} between {bind(low)} and {bind(high)}"
        return f"{column} {_SQL_OPS[node.op]} {bind(node.value)}"
    joiner, children = (" and ", node.all) if isinstance(node, AllOf) else (" or ", node.any)
    return f"({joiner.join(_compile(child, values, mark) for child in children)})"
