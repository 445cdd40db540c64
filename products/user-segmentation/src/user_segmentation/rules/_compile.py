"""A rule segment's filter as a SQL condition over gold.user_features, values as `?` parameters.

Feature names come only from the checked list (and are quoted); values never enter the SQL
text, so a value such as `x' or 1=1 --` stays a value that no row holds.
"""

from typing import Any

from user_segmentation.rules._grammar import AllOf, AnyOf, Condition

_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def compile_filter(node: AllOf | AnyOf | Condition) -> tuple[str, list[Any]]:
    """(condition, parameters): `("frequency" >= ? and "last_platform" in (?, ?))`, [3, ...]."""
    if isinstance(node, Condition):
        column = f'"{node.feature}"'
        if node.op == "in":
            marks = ", ".join("?" for _ in node.value)
            return f"{column} in ({marks})", list(node.value)
        if node.op == "between":
            return f"{column} between ? and ?", list(node.value)
        return f"{column} {_SQL_OPS[node.op]} ?", [node.value]
    joiner, children = (" and ", node.all) if isinstance(node, AllOf) else (" or ", node.any)
    parts = [compile_filter(child) for child in children]
    sql = joiner.join(part for part, _ in parts)
    return f"({sql})", [value for _, values in parts for value in values]


def compile_named(node: AllOf | AnyOf | Condition) -> tuple[str, dict[str, Any]]:
    """The filter with named parameters (`$v0`, `$v1`, ...), for queries that take them."""
    condition, values = compile_filter(node)
    pieces = condition.split("?")
    # Feature names come from the checked list and ops from a fixed set: no `?` but the marks.
    named = pieces[0] + "".join(f"$v{index}{piece}" for index, piece in enumerate(pieces[1:]))
    return named, {f"v{index}": value for index, value in enumerate(values)}
