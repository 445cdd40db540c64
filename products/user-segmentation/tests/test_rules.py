"""Rule segments: the filter grammar (refusals name the wrong node), its SQL (values stay
parameters), and membership over the small world of conftest.py as features change, with every
entry and exit kept."""

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest

from dataplatform.core.errors import InvalidRequestError
from user_segmentation.product import product
from user_segmentation.rules import compile_filter, members, parse_definition
from user_segmentation.serving import _definitions

CONTEXT = product.context()


def nested(key: str, levels: int, leaf: dict[str, Any]) -> dict[str, Any]:
    node = leaf
    for _ in range(levels):
        node = {key: [node]}
    return node


def refusal(definition: Any) -> tuple[str | None, str]:
    with pytest.raises(InvalidRequestError) as refused:
        parse_definition(definition)
    return refused.value.field, refused.value.message


@pytest.mark.parametrize(
    ("definition", "field", "says"),
    [
        (
            {
                "all": [
                    {"feature": "frequency", "op": ">=", "value": 3},
                    {"feature": "recncy_days", "op": "<", "value": 7},
                ]
            },
            "body.definition.all[1].feature",
            "Did you mean `recency_days`?",
        ),
        (
            {"any": [{"all": [{"feature": "frequency", "op": ">=", "value": "3"}]}]},
            "body.definition.any[0].all[0].value",
            "frequency is a number; '3' is not one",
        ),
        (
            {"feature": "last_platform", "op": "<", "value": "web"},
            "body.definition.op",
            "`<` does not apply to last_platform, a text; use one of = != in",
        ),
        (
            {"feature": "monetary", "op": "between", "value": [10, 1]},
            "body.definition.value",
            "low <= high",
        ),
        (
            {"feature": "identified", "op": "=", "value": 1},
            "body.definition.value",
            "true or false",
        ),
        ({"all": []}, "body.definition.all", "at least 1 item"),
        ({"everything": True}, "body.definition", 'a filter is {"all": [...]}'),
        (
            {"all": [{"feature": "events", "op": "=", "value": 1, "extra": 2}]},
            "body.definition.all[0].extra",
            "Extra inputs",
        ),
        (
            nested("any", 6, {"feature": "events", "op": "=", "value": 1}),
            "body.definition.any[0].any[0].any[0].any[0].any[0]",
            "nest at most 5 deep",
        ),
    ],
)
def test_a_refused_definition_names_the_wrong_node(definition: Any, field: str, says: str) -> None:
    refused_field, message = refusal(definition)

    assert refused_field == field
    assert message.startswith(f"`{field}`: ")
    assert says in message


def test_values_become_parameters_and_features_quoted_names() -> None:
    node = parse_definition(
        {
            "any": [
                {"feature": "last_platform", "op": "in", "value": ["web", "x' or 1=1 --"]},
                {
                    "all": [
                        {"feature": "monetary", "op": "between", "value": [1, 2.5]},
                        {"feature": "identified", "op": "!=", "value": False},
                    ]
                },
            ]
        }
    )

    assert compile_filter(node) == (
        '("last_platform" in (?, ?) or ("monetary" between ? and ? and "identified" <> ?))',
        ["web", "x' or 1=1 --", 1, 2.5, False],
    )


def test_an_injection_attempt_in_a_value_stays_a_value() -> None:
    features = pa.table({"person_id": ["a", "b"], "last_platform": ["web", "mobile"]})
    attempt = "web' or '1'='1"

    assert (
        members(
            features, parse_definition({"feature": "last_platform", "op": "=", "value": attempt})
        )
        == set()
    )
    assert members(
        features,
        parse_definition({"feature": "last_platform", "op": "in", "value": [attempt, "mobile"]}),
    ) == {"b"}
    field, _ = refusal({"feature": 'frequency" or 1=1 --', "op": "=", "value": 1})
    assert field == "body.definition.feature"


def membership(pipeline: Any) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in pipeline.rows("gold.segment_membership"):
        found.setdefault(row["segment_id"], set()).add(row["person_id"])
    return found


def test_membership_at_the_boundaries_and_its_entries_and_exits(
    pipeline: Any, kit: SimpleNamespace
) -> None:
    kit.publish_world(pipeline)
    lake = pipeline.lake
    # Frequencies: ana 5, eve 3, b-cy 1, dee 0.
    at_least_3 = _definitions.create(
        lake, CONTEXT, "test", "3+", None, {"feature": "frequency", "op": ">=", "value": 3}
    )["segment_id"]
    more_than_3 = _definitions.create(
        lake, CONTEXT, "test", ">3", None, {"feature": "frequency", "op": ">", "value": 3}
    )["segment_id"]
    one_to_3 = _definitions.create(
        lake,
        CONTEXT,
        "test",
        "1-3",
        None,
        {"feature": "frequency", "op": "between", "value": [1, 3]},
    )["segment_id"]
    before = datetime.now(UTC)

    pipeline.run()
    first_run = datetime.now(UTC)

    assert membership(pipeline) == {
        at_least_3: {"ana", "eve"},  # >= takes the 3 in
        more_than_3: {"ana"},  # > leaves it out
        one_to_3: {"b-cy", "eve"},  # between takes both ends
    }
    entries = pipeline.rows("gold.segment_changes")
    assert {(r["segment_id"], r["person_id"], r["change"]) for r in entries} == {
        (at_least_3, "ana", "enter"),
        (at_least_3, "eve", "enter"),
        (more_than_3, "ana", "enter"),
        (one_to_3, "b-cy", "enter"),
        (one_to_3, "eve", "enter"),
    }
    assert {r["as_of"] for r in entries} == {date(2026, 11, 20)}  # the newest event's day
    assert all(before <= r["changed_at"] <= first_run for r in entries)

    # cy comes back twice on 12-02: as_of moves there, and the window (the days 11-03 to 12-02)
    # leaves eve (last seen 11-01) with no session in it, and cy with three.
    pipeline.publish(
        kit.SESSION_EVENTS,
        [
            *kit.SESSION_EVENT_ROWS,
            kit.web_event("w9", "2026-12-02 09:00", browser="b-cy", session="s4", page="/"),
            kit.web_event("w10", "2026-12-02 09:10", browser="b-cy", session="s5", page="/cart"),
        ],
    )
    pipeline.run()
    second_run = datetime.now(UTC)

    assert membership(pipeline) == {
        at_least_3: {"ana", "b-cy"},
        more_than_3: {"ana"},
        one_to_3: {"b-cy"},
    }
    later = [r for r in pipeline.rows("gold.segment_changes") if r["changed_at"] > first_run]
    assert {(r["segment_id"], r["person_id"], r["change"]) for r in later} == {
        (at_least_3, "eve", "exit"),
        (at_least_3, "b-cy", "enter"),
        (one_to_3, "eve", "exit"),
    }
    assert {r["as_of"] for r in later} == {date(2026, 12, 2)}
    assert all(first_run <= r["changed_at"] <= second_run for r in later)
    cy = next(
        r
        for r in pipeline.rows("gold.segment_membership")
        if (r["segment_id"], r["person_id"]) == (one_to_3, "b-cy")
    )
    assert cy["entered_as_of"] == date(2026, 11, 20)  # a member since the first run

    # A deleted segment's members exit; nothing else changes.
    _definitions.delete(lake, CONTEXT, more_than_3, "test")
    pipeline.run()

    latest = [r for r in pipeline.rows("gold.segment_changes") if r["changed_at"] > second_run]
    assert [(r["segment_id"], r["person_id"], r["change"]) for r in latest] == [
        (more_than_3, "ana", "exit")
    ]
    assert more_than_3 not in membership(pipeline)


def test_a_run_with_nothing_new_changes_nothing(pipeline: Any, kit: SimpleNamespace) -> None:
    kit.publish_world(pipeline)
    _definitions.create(
        pipeline.lake, CONTEXT, "test", "all", None, {"feature": "events", "op": ">=", "value": 0}
    )
    pipeline.run()
    changes = len(pipeline.rows("gold.segment_changes"))

    pipeline.run()

    assert changes == 4  # ana, b-cy, dee, eve enter (dee with 0 events: >= 0)
    assert len(pipeline.rows("gold.segment_changes")) == changes
