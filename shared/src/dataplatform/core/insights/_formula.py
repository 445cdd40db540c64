"""Formulas between series: `A / B`, `(A - B) * 100 / A`, over the series' letters.

Parsed with Python's own parser and evaluated by walking the tree, so a formula can do
arithmetic on its letters and numbers and nothing else. Dividing by zero, or a letter without a
value, gives no value (null), as a chart shows a gap.
"""

import ast
import operator
from collections.abc import Callable, Mapping, Sequence

from dataplatform.core.errors import InvalidRequestError

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
FIELD = "body.formula"


class Formula:
    """A checked formula over the letters `letters`."""

    def __init__(self, text: str, letters: Sequence[str]) -> None:
        try:
            self._tree = ast.parse(text, mode="eval").body
        except SyntaxError:
            raise InvalidRequestError(
                f"`formula` {text!r} is not arithmetic; write it like `A / B` or "
                "`(A - B) * 100 / A`.",
                field=FIELD,
            ) from None
        self.text = text
        self._check(self._tree, set(letters))

    def _check(self, node: ast.expr, letters: set[str]) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._check(node.left, letters)
            self._check(node.right, letters)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            self._check(node.operand, letters)
        elif isinstance(node, ast.Name):
            if node.id not in letters:
                raise InvalidRequestError(
                    f"`formula` names series `{node.id}`; the series are "
                    f"{', '.join(sorted(letters))}.",
                    field=FIELD,
                )
        elif not (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            raise InvalidRequestError(
                f"`formula` may hold series letters, numbers, + - * / and parentheses; "
                f"`{ast.unparse(node)}` is none of them.",
                field=FIELD,
            )

    def value(self, values: Mapping[str, float | None]) -> float | None:
        """The formula's value given each letter's value; None when it has none."""
        return _evaluate(self._tree, values)


def _evaluate(node: ast.expr, values: Mapping[str, float | None]) -> float | None:
    if isinstance(node, ast.Name):
        return values.get(node.id)
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # `_check` lets only numbers through
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        return None if operand is None else _UNARY[type(node.op)](operand)
    assert isinstance(node, ast.BinOp)  # the only other node `_check` lets through
    left, right = _evaluate(node.left, values), _evaluate(node.right, values)
    if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
        return None
    return _BINARY[type(node.op)](left, right)
