"""Property filters as SQL over a product's events."""

from typing import Any

from dataplatform.core.insights._queries import EventMatch, PropertyFilter
from dataplatform.core.insights._source import EventSource


def condition_sql(
    source: EventSource, condition: PropertyFilter, name: str, params: dict[str, Any]
) -> str:
    """SQL keeping the events `condition` keeps; its value goes in `params` as `$name`."""
    text = source.property_sql(condition.property)
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
