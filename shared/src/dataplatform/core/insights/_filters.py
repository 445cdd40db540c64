"""Property filters as SQL over a product's events."""

from typing import Any

from dataplatform.core.errors import InvalidRequestError
from dataplatform.core.insights._queries import EventMatch, PropertyFilter
from dataplatform.core.insights._source import PERSONS_ALIAS, EventSource

# The operators a missing value passes.
_TRUE_WITHOUT_VALUE = ("!=", "not in", "is not set")


def condition_sql(
    source: EventSource, condition: PropertyFilter, name: str, params: dict[str, Any]
) -> str:
    """SQL keeping the events `condition` keeps; its value goes in `params` as `$name`."""
    if condition.type == "person":
        return _person_condition_sql(source, condition, name, params)
    return _value_sql(source.property_sql(condition.property), condition, name, params)


def _person_condition_sql(
    source: EventSource, condition: PropertyFilter, name: str, params: dict[str, Any]
) -> str:
    """The events of the people whose latest value of the property passes: those with a row
    that passes or, when someone without the property passes too (`!=`, `not in`, `is not
    set`), everyone but those with a row that fails."""
    named = _property_row_sql(source, condition, name, params)
    passes = _value_sql("p.value", condition, name, params)
    rows = f"select p.person_id from {PERSONS_ALIAS} as p where {named}"
    if condition.operator in _TRUE_WITHOUT_VALUE:
        return f"{source.person} not in ({rows} and not ({passes}))"
    return f"{source.person} in ({rows} and {passes})"


def person_property_sql(
    source: EventSource, condition: PropertyFilter, name: str, params: dict[str, Any]
) -> str:
    """SQL true for a row `p` of the person properties that is the property and passes."""
    named = _property_row_sql(source, condition, name, params)
    return f"{named} and {_value_sql('p.value', condition, name, params)}"


def _property_row_sql(
    source: EventSource, condition: PropertyFilter, name: str, params: dict[str, Any]
) -> str:
    if source.persons is None:
        raise InvalidRequestError(
            "This product keeps no person properties; filter on the events' own (`type`: `event`).",
            field="body.filters",
        )
    params[f"{name}_property"] = condition.property
    return f"p.property = ${name}_property"


def _value_sql(text: str, condition: PropertyFilter, name: str, params: dict[str, Any]) -> str:
    """SQL true when the property read by `text` passes `condition`."""
    number = f"try_cast({text} as double)"
    operator, value = condition.operator, condition.value
    if operator == "is set":
        return f"{text} is not null"
    if operator == "is not set":
        return f"{text} is null"
    if operator in ("in", "not in"):
        assert isinstance(value, list)
        params[name] = [as_text(v) for v in value]
        held = f"coalesce(list_contains(${name}::varchar[], {text}), false)"
        return held if operator == "in" else f"not {held}"
    if operator == "contains":
        params[name] = str(value).lower()
        return f"contains(lower({text}), ${name})"
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    params[name] = value if numeric else as_text(value)  # type: ignore[arg-type]
    compared = number if numeric else text
    if operator == "!=":  # an event without the property is not equal to anything
        return f"{compared} is distinct from ${name}"
    return f"coalesce({compared} {operator} ${name}, false)"


def as_text(value: str | float | bool) -> str:
    """A value as the events' JSON text holds it: `true`, `3`, `2.5`, `pro`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def match_sql(source: EventSource, match: EventMatch, name: str, params: dict[str, Any]) -> str:
    """SQL true for the events `match` describes; its values go in `params` as `$name...`."""
    conditions = ["true"]
    if match.event is not None:
        params[f"{name}_event"] = match.event
        conditions.append(f"{source.event} = ${name}_event")
    for index, condition in enumerate(match.filters):
        conditions.append(condition_sql(source, condition, f"{name}{index}", params))
    return " and ".join(conditions)
