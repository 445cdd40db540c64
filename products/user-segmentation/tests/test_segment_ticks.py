"""Rule membership tick by tick: gold.segment_changes judges only the pairs a tick touched (the
persons whose features were written or removed, the segments whose definition changed), yet any
split of feature updates and definition changes into ticks records the changes that judging
everyone on every tick would, and ends in the membership of a full run.

gold.user_features is written here directly, as its merge model writes it (rows merged on
person_id, a removed person deleted); the definitions go through the API's own functions.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from user_segmentation.product import product
from user_segmentation.serving import _definitions

CONTEXT = product.context()
FEATURES = CONTEXT.table("gold.user_features")
CHANGES = CONTEXT.table("gold.segment_changes")
MODELS = ["gold.segment_changes", "gold.segment_membership"]
AS_OF = date(2026, 11, 20)
# The features the filters below read, typed as gold.user_features declares them.
FEATURES_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("frequency", pa.int64()),
        ("last_platform", pa.string()),
        ("as_of", pa.date32()),
    ]
)
Features = tuple[int, str]  # frequency, last_platform


@dataclass(frozen=True)
class Rule:
    """A filter as the API takes it, and what it means, worked out by hand."""

    definition: dict[str, Any]
    keeps: Callable[[Features], bool]


RULES = [
    Rule({"feature": "frequency", "op": ">=", "value": 2}, lambda f: f[0] >= 2),
    Rule({"feature": "frequency", "op": "<", "value": 3}, lambda f: f[0] < 3),
    Rule({"feature": "last_platform", "op": "=", "value": "web"}, lambda f: f[1] == "web"),
    Rule(
        {
            "all": [
                {"feature": "frequency", "op": "between", "value": [1, 3]},
                {"feature": "last_platform", "op": "=", "value": "mobile"},
            ]
        },
        lambda f: 1 <= f[0] <= 3 and f[1] == "mobile",
    ),
]
PERSONS = ["ana", "bo", "cy", "dee"]
SLOTS = ["first", "second"]  # a slot holds one live segment at a time


def write_features(lake: Any, person: str, frequency: int, platform: str) -> None:
    row = {"person_id": person, "frequency": frequency, "last_platform": platform, "as_of": AS_OF}
    lake.merge(FEATURES, pa.Table.from_pylist([row], FEATURES_SCHEMA), ["person_id"])


def remove_features(lake: Any, person: str, *, by_merge: bool) -> None:
    """As the features model removes a person the graph joined to another (a merge's delete),
    or as retention removes rows (a delete)."""
    if by_merge:
        gone = pa.Table.from_pylist([{"person_id": person}], FEATURES_SCHEMA)
        lake.merge(FEATURES, FEATURES_SCHEMA.empty_table(), ["person_id"], deletes=gone)
    else:
        lake.delete(FEATURES, f"person_id = '{person}'")


def tick(pipeline: Any, *, full_refresh: bool = False) -> None:
    """Run the two membership models, as the product's tick would after the features."""
    results = pipeline.runner.run(MODELS, full_refresh=full_refresh)
    failed = [r for r in results if r.status not in ("succeeded", "up_to_date")]
    assert not failed, failed


def changes_by_pair(pipeline: Any) -> dict[tuple[str, str], list[str]]:
    """Each pair's changes, in the order they were recorded."""
    by_pair: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
    for row in pipeline.rows("gold.segment_changes"):
        pair = (row["segment_id"], row["person_id"])
        by_pair.setdefault(pair, []).append((row["changed_at"], row["change"]))
    return {pair: [change for _, change in sorted(found)] for pair, found in by_pair.items()}


def membership(pipeline: Any) -> set[tuple[str, str]]:
    return {(r["segment_id"], r["person_id"]) for r in pipeline.rows("gold.segment_membership")}


# --- any split into ticks -------------------------------------------------------------------

Change = tuple[Any, ...]


def feature_change(person: st.SearchStrategy[str]) -> st.SearchStrategy[Change]:
    platforms = st.sampled_from(["web", "mobile"])
    return st.tuples(st.just("features"), person, st.integers(0, 4), platforms)


def definition_change(slot: st.SearchStrategy[str]) -> st.SearchStrategy[Change]:
    return st.tuples(st.just("define"), slot, st.integers(0, len(RULES) - 1))


# Everyone has features and both slots a segment first, so that later changes find members.
first_tick = st.tuples(
    *(feature_change(st.just(person)) for person in PERSONS),
    *(definition_change(st.just(slot)) for slot in SLOTS),
).map(list)


def later_change(kind: str) -> st.SearchStrategy[Change]:
    if kind == "features":
        return feature_change(st.sampled_from(PERSONS))
    if kind == "remove":  # by the merge that removes a joined person, or by a delete
        return st.tuples(st.just(kind), st.sampled_from(PERSONS), st.booleans())
    if kind == "define":
        return definition_change(st.sampled_from(SLOTS))
    return st.tuples(st.just(kind), st.sampled_from(SLOTS))


# Features change more often than definitions, as they do (and a definition change judges all
# of its segment, which would hide a person's change in it from the comparison).
KINDS = ["features"] * 3 + ["remove"] * 2 + ["define", "undefine"]


@st.composite
def splits(draw: st.DrawFn) -> list[list[Change]]:
    """The first tick, then a random sequence of changes cut into ticks at random."""
    first = draw(first_tick)
    changes = draw(st.lists(st.sampled_from(KINDS).flatmap(later_change), min_size=2, max_size=12))
    ends = sorted(draw(st.sets(st.integers(1, len(changes) - 1))))
    return [first, *(changes[a:b] for a, b in itertools.pairwise([0, *ends, len(changes)]))]


@dataclass
class World:
    """What the features and definitions say now, and the changes that judging every pair on
    every tick records: the model as it was before it read only what a tick touched."""

    features: dict[str, Features] = field(default_factory=dict)
    segments: dict[str, str] = field(default_factory=dict)  # slot -> its live segment
    rules: dict[str, Rule] = field(default_factory=dict)  # live segment -> its rule
    members: set[tuple[str, str]] = field(default_factory=set)
    recorded: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def apply(self, lake: Any, change: Change) -> None:
        kind, *rest = change
        if kind == "features":
            person, frequency, platform = rest
            write_features(lake, person, frequency, platform)
            self.features[person] = (frequency, platform)
        elif kind == "remove" and rest[0] in self.features:
            remove_features(lake, rest[0], by_merge=rest[1])
            del self.features[rest[0]]
        elif kind == "define":
            self.define(lake, rest[0], RULES[rest[1]])
        elif kind == "undefine" and rest[0] in self.segments:
            segment = self.segments.pop(rest[0])
            _definitions.delete(lake, CONTEXT, segment, "test")
            del self.rules[segment]

    def define(self, lake: Any, slot: str, rule: Rule) -> None:
        if slot in self.segments:
            segment = self.segments[slot]
            _definitions.update(lake, CONTEXT, segment, "test", slot, None, rule.definition)
        else:
            created = _definitions.create(lake, CONTEXT, "test", slot, None, rule.definition)
            segment = self.segments[slot] = created["segment_id"]
        self.rules[segment] = rule

    def judge_everyone(self) -> None:
        now = {
            (segment, person)
            for segment, rule in self.rules.items()
            for person, features in self.features.items()
            if rule.keeps(features)
        }
        for pair in now - self.members:
            self.recorded.setdefault(pair, []).append("enter")
        for pair in self.members - now:
            self.recorded.setdefault(pair, []).append("exit")
        self.members = now


@settings(
    max_examples=25,
    deadline=None,  # each example writes Delta tables and runs the models
    derandomize=True,  # the same examples on every run, so CI never flakes on a new one
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(split=splits())
def test_any_split_into_ticks_records_what_judging_everyone_would(
    split: list[list[Change]], tmp_path_factory: pytest.TempPathFactory, kit: SimpleNamespace
) -> None:
    pipeline = kit.make_pipeline(tmp_path_factory.mktemp("ticks"))
    pipeline.lake.append(FEATURES, FEATURES_SCHEMA.empty_table())
    world = World()
    for changes in split:
        for change in changes:
            world.apply(pipeline.lake, change)
        tick(pipeline)
        world.judge_everyone()

    ticked = changes_by_pair(pipeline)
    ticked_members = membership(pipeline)
    tick(pipeline, full_refresh=True)

    assert ticked == world.recorded
    assert ticked_members == world.members == membership(pipeline)
    # A full run starts the history again: every member enters once.
    assert changes_by_pair(pipeline) == {pair: ["enter"] for pair in world.members}


# --- what a tick reads ----------------------------------------------------------------------

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def two_members(tmp_path: Path, kit: SimpleNamespace) -> tuple[Any, str, str]:
    """ana and bo in segment `busy` (frequency >= 2) and `web` (last platform web), with a change
    of bo's in `busy` planted far in the future: a tick that reads bo's changes stamps its own
    after it, since a pair's changes must come in order."""
    pipeline = kit.make_pipeline(tmp_path)
    busy = _definitions.create(pipeline.lake, CONTEXT, "test", "busy", None, RULES[0].definition)
    web = _definitions.create(pipeline.lake, CONTEXT, "test", "web", None, RULES[2].definition)
    write_features(pipeline.lake, "ana", 3, "web")
    write_features(pipeline.lake, "bo", 3, "web")
    tick(pipeline)
    planted = {
        "segment_id": busy["segment_id"],
        "person_id": "bo",
        "change": "enter",  # bo is in already: the history stays one of alternating changes
        "changed_at": FAR_FUTURE,
        "as_of": AS_OF,
        "definition_version": 1,
    }
    pipeline.lake.append(CHANGES, pa.Table.from_pylist([planted], pipeline.lake.schema(CHANGES)))
    return pipeline, busy["segment_id"], web["segment_id"]


def new_changes(pipeline: Any, since: datetime) -> set[tuple[str, str, str]]:
    rows = pipeline.rows("gold.segment_changes")
    return {
        (r["segment_id"], r["person_id"], r["change"])
        for r in rows
        if since < r["changed_at"] < FAR_FUTURE
    }


def test_a_tick_of_one_persons_features_reads_only_that_persons_changes(
    two_members: tuple[Any, str, str],
) -> None:
    pipeline, busy, web = two_members
    before = datetime.now(UTC)

    write_features(pipeline.lake, "ana", 1, "mobile")  # ana leaves both segments
    tick(pipeline)

    # ana's changes were read (she was in, so she exits), bo's were not (no stamp after 2100).
    assert new_changes(pipeline, before) == {(busy, "ana", "exit"), (web, "ana", "exit")}
    assert not [r for r in pipeline.rows("gold.segment_changes") if r["changed_at"] > FAR_FUTURE]


def test_a_changed_definition_judges_everyone_in_that_segment_only(
    two_members: tuple[Any, str, str],
) -> None:
    pipeline, busy, web = two_members
    before = datetime.now(UTC)

    # On mobile now: both leave `web`, whose changes were read; `busy`'s (bo's) were not.
    _definitions.update(pipeline.lake, CONTEXT, web, "test", "web", None, RULES[3].definition)
    tick(pipeline)

    assert new_changes(pipeline, before) == {(web, "ana", "exit"), (web, "bo", "exit")}
    assert not [r for r in pipeline.rows("gold.segment_changes") if r["changed_at"] > FAR_FUTURE]
    assert membership(pipeline) == {(busy, "ana"), (busy, "bo")}


# --- removed features -----------------------------------------------------------------------


@pytest.mark.parametrize("by_merge", [True, False], ids=["merge_delete", "delete"])
def test_a_person_whose_features_are_removed_exits_every_segment(
    by_merge: bool, tmp_path: Path, kit: SimpleNamespace
) -> None:
    pipeline = kit.make_pipeline(tmp_path)
    busy = _definitions.create(pipeline.lake, CONTEXT, "test", "busy", None, RULES[0].definition)
    web = _definitions.create(pipeline.lake, CONTEXT, "test", "web", None, RULES[2].definition)
    write_features(pipeline.lake, "ana", 3, "web")
    write_features(pipeline.lake, "bo", 3, "mobile")
    tick(pipeline)
    before = datetime.now(UTC)

    remove_features(pipeline.lake, "ana", by_merge=by_merge)  # her only change this tick
    tick(pipeline)

    exits = [r for r in pipeline.rows("gold.segment_changes") if r["changed_at"] > before]
    assert {(r["segment_id"], r["person_id"], r["change"]) for r in exits} == {
        (busy["segment_id"], "ana", "exit"),
        (web["segment_id"], "ana", "exit"),
    }
    assert len(exits) == 2
    assert {r["as_of"] for r in exits} == {AS_OF}  # that of the features she was last judged on
    assert membership(pipeline) == {(busy["segment_id"], "bo")}
