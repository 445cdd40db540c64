"""The filter of a rule segment: a small JSON grammar over the features, checked with pydantic.

    {"all": [filter, ...]}       every filter holds
    {"any": [filter, ...]}       at least one holds
    {"feature": "frequency", "op": ">=", "value": 3}

`op` is one of = != < <= > >= in between. Numbers take every op (`in` a list of numbers,
`between` [low, high], both included); texts take = != in; booleans = !=. A refused filter
names the node that is wrong, as a path into the definition: `definition.all[1].feature`.
"""

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from dataplatform.core.errors import InvalidRequestError, did_you_mean
from user_segmentation.features import FEATURES

Op = Literal["=", "!=", "<", "<=", ">", ">=", "in", "between"]
OPS_OF_KIND: dict[str, tuple[str, ...]] = {
    "number": ("=", "!=", "<", "<=", ">", ">=", "in", "between"),
    "text": ("=", "!=", "in"),
    "boolean": ("=", "!="),
}
MOST_CONDITIONS = 50  # in one definition: the SQL stays small
MOST_DEPTH = 5  # nested all/any
MOST_VALUES = 100  # in one `in` list
LONGEST_TEXT = 200


class Condition(BaseModel):
    """`feature` `op` `value`."""

    model_config = ConfigDict(extra="forbid")

    feature: str
    op: Op
    value: Any

    @field_validator("feature")
    @classmethod
    def _known_feature(cls, feature: str) -> str:
        if feature not in FEATURES:
            raise ValueError(
                f"{feature!r} is not a feature a rule can filter on; the features are "
                f"{', '.join(FEATURES)}.{did_you_mean(feature, FEATURES)}"
            )
        return feature

    @field_validator("op")
    @classmethod
    def _op_fits_feature(cls, op: str, info: ValidationInfo) -> str:
        feature = info.data.get("feature")
        if feature is not None and op not in OPS_OF_KIND[FEATURES[feature]]:
            kind = FEATURES[feature]
            raise ValueError(
                f"`{op}` does not apply to {feature}, a {kind}; use one of "
                f"{' '.join(OPS_OF_KIND[kind])}"
            )
        return op

    @field_validator("value")
    @classmethod
    def _value_fits(cls, value: Any, info: ValidationInfo) -> Any:
        feature, op = info.data.get("feature"), info.data.get("op")
        if feature is None or op is None:
            return value  # already refused: nothing to check the value against
        kind = FEATURES[feature]
        if op == "in":
            if not isinstance(value, list) or not 1 <= len(value) <= MOST_VALUES:
                raise ValueError(f"`in` takes a list of 1 to {MOST_VALUES} {kind} values")
            return [_scalar(item, kind, feature) for item in value]
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise ValueError("`between` takes [low, high], both included")
            low, high = (_scalar(item, kind, feature) for item in value)
            if low > high:
                raise ValueError(f"`between` takes [low, high] with low <= high, not {value}")
            return [low, high]
        return _scalar(value, kind, feature)


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    all: list["Filter"] = Field(min_length=1)


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    any: list["Filter"] = Field(min_length=1)


def _node_kind(node: Any) -> str | None:
    if isinstance(node, AllOf) or (isinstance(node, dict) and "all" in node):
        return "all"
    if isinstance(node, AnyOf) or (isinstance(node, dict) and "any" in node):
        return "any"
    if isinstance(node, Condition) or (
        isinstance(node, dict) and ("feature" in node or "op" in node)
    ):
        return "condition"
    return None


Filter = Annotated[
    Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Condition, Tag("condition")],
    Discriminator(
        _node_kind,
        custom_error_type="invalid_filter",
        custom_error_message='a filter is {"all": [...]}, {"any": [...]} or '
        '{"feature": ..., "op": ..., "value": ...}',
    ),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()
_FILTER: TypeAdapter[AllOf | AnyOf | Condition] = TypeAdapter(Filter)
_TAGS = ("all", "any", "condition")


def parse_definition(raw: Any, field: str = "body.definition") -> AllOf | AnyOf | Condition:
    """The filter `raw` describes, or a 422 naming the first wrong node under `field`."""
    try:
        parsed = _FILTER.validate_python(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = _path(field, error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise InvalidRequestError(f"`{path}`: {message}", field=path) from None
    _check_size(parsed, field)
    return parsed


def definition_json(node: AllOf | AnyOf | Condition) -> dict[str, Any]:
    """The filter as JSON again, in its checked form."""
    return node.model_dump(mode="json")


def _scalar(value: Any, kind: str, feature: str) -> Any:
    if kind == "number":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{feature} is a number; {value!r} is not one")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"{feature} is true or false; {value!r} is neither")
        return value
    if not isinstance(value, str) or len(value) > LONGEST_TEXT:
        raise ValueError(f"{feature} is a text; give a string of at most {LONGEST_TEXT} characters")
    return value


def _path(field: str, loc: tuple[Any, ...]) -> str:
    """`definition.all[1].feature` from pydantic's loc (`all`, `all`, 1, `condition`, `feature`),
    which names the union's tag before each node's own fields."""
    parts = field.split(".")
    expect_tag = True
    for item in loc:
        if expect_tag and item in _TAGS:
            expect_tag = False
        elif isinstance(item, int):
            parts[-1] += f"[{item}]"
            expect_tag = True
        else:
            parts.append(str(item))
    return ".".join(parts)


def _check_size(node: AllOf | AnyOf | Condition, field: str) -> None:
    conditions = 0

    def walk(current: AllOf | AnyOf | Condition, path: str, depth: int) -> None:
        nonlocal conditions
        if isinstance(current, Condition):
            conditions += 1
            if conditions > MOST_CONDITIONS:
                raise InvalidRequestError(
                    f"`{path}`: a definition holds at most {MOST_CONDITIONS} conditions.",
                    field=path,
                )
            return
        if depth > MOST_DEPTH:
            raise InvalidRequestError(
                f"`{path}`: all/any nest at most {MOST_DEPTH} deep.", field=path
            )
        key = "all" if isinstance(current, AllOf) else "any"
        children = current.all if isinstance(current, AllOf) else current.any
        for index, child in enumerate(children):
            walk(child, f"{path}.{key}[{index}]", depth + 1)

    walk(node, field, 1)
