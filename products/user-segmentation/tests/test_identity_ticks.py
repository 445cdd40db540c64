"""The identity graph tick by tick: each tick reads only the links its inputs gained, rewrites
only the ids whose person or attributes change, and any split of the links into ticks ends in
the tables a full rebuild gives."""

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest

from user_segmentation.product import product

IDENTITY_MODELS = ["silver.identity_links", "silver.identity_graph", "gold.identity_graph"]
PAIR = ["user_id", "anonymous_id"]
START = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Sighting:
    """One product seeing a user id and an anonymous id together, at `minute` past START."""

    upstream: str  # the producing product's gold.identity_links
    user: str
    anonymous: str
    minute: int


class Identity:
    """The two producers' gold.identity_links, written as their merge models write them (a pair
    seen again widens its span), and the identity models run over them."""

    def __init__(self, pipeline: Any, kit: SimpleNamespace) -> None:
        self.pipeline, self.kit = pipeline, kit
        self.spans: dict[tuple[str, str, str], tuple[datetime, datetime]] = {}
        for table in (kit.WEB_LINKS, kit.MOBILE_LINKS):
            pipeline.publish(table, [])

    def see(self, sightings: Iterable[Sighting]) -> None:
        """Merge the pairs these sightings add or widen into the producers' tables."""
        touched: dict[str, set[tuple[str, str, str]]] = {}
        for s in sightings:
            key = (s.upstream, s.user, s.anonymous)
            at = START + timedelta(minutes=s.minute)
            first, last = self.spans.get(key, (at, at))
            self.spans[key] = (min(first, at), max(last, at))
            touched.setdefault(s.upstream, set()).add(key)
        for upstream, keys in touched.items():
            rows = [self._row(key) for key in sorted(keys)]
            data = pa.Table.from_pylist(rows, self.kit.SCHEMAS[upstream])
            self.pipeline.lake.merge(upstream, data, PAIR)

    def _row(self, key: tuple[str, str, str]) -> dict[str, Any]:
        first, last = self.spans[key]
        return {
            "user_id": key[1],
            "anonymous_id": key[2],
            "first_linked_at": first,
            "last_linked_at": last,
        }

    def run(self, *, full_refresh: bool = False) -> dict[str, Any]:
        results = self.pipeline.runner.run(IDENTITY_MODELS, full_refresh=full_refresh)
        failed = [r for r in results if r.status not in ("succeeded", "up_to_date")]
        assert not failed, failed
        return {r.model.split(".", 1)[1]: r for r in results}

    def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every identity table's rows, sorted."""
        return {
            model: sorted(
                tuple(_plain(v) for v in row.values()) for row in self.pipeline.rows(model)
            )
            for model in IDENTITY_MODELS
        }

    def rewritten_since(self, model: str, version: int) -> set[str]:
        """The identifiers a model's commits after `version` inserted or updated."""
        changes = self.pipeline.lake.changes_since(product.context().table(model), version)
        new = [
            c for c in changes.to_pylist() if c["_change_type"] in ("insert", "update_postimage")
        ]
        return {row["identifier"] for row in new}

    def version(self, model: str) -> int:
        return int(self.pipeline.lake.version(product.context().table(model)))


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@pytest.fixture
def identity(pipeline: Any, kit: SimpleNamespace) -> Identity:
    return Identity(pipeline, kit)


def web(user: str, anonymous: str, minute: int = 0) -> Sighting:
    return Sighting("web_user_analytics.gold.identity_links", user, anonymous, minute)


def mobile(user: str, anonymous: str, minute: int = 0) -> Sighting:
    return Sighting("mobile_user_analytics.gold.identity_links", user, anonymous, minute)


# --- named cases ------------------------------------------------------------------------------


def test_a_link_between_two_people_rewrites_the_members_of_the_one_that_changes_person_only(
    identity: Identity,
) -> None:
    # ana: browser b1, installs i1, i2; zoe: browser b9, install i9; kim: her own browser.
    identity.see([web("ana", "b1"), mobile("ana", "i1"), mobile("ana", "i2")])
    identity.see([web("zoe", "b9"), mobile("zoe", "i9"), web("kim", "b-kim")])
    identity.run()
    before = identity.version("silver.identity_graph")

    # zoe signs in on ana's browser: one person, ana (the smaller user id).
    identity.see([web("zoe", "b1", minute=5)])
    ran = identity.run()

    people = {
        row["identifier"]: row["person_id"]
        for row in identity.pipeline.rows("silver.identity_graph")
    }
    assert people == {
        "ana": "ana", "b1": "ana", "i1": "ana", "i2": "ana",
        "zoe": "ana", "b9": "ana", "i9": "ana",
        "kim": "kim", "b-kim": "kim",
    }  # fmt: skip
    # zoe's ids change person; b1 gains a later link; ana's installs and kim are left alone.
    assert identity.rewritten_since("silver.identity_graph", before) == {"zoe", "b9", "i9", "b1"}
    assert ran["silver.identity_graph"].rows_in == 1
    assert ran["silver.identity_graph"].rows_out == 4
    published = {
        r["identifier"]: r["person_id"] for r in identity.pipeline.rows("gold.identity_graph")
    }
    assert published == people


def test_a_tick_whose_inputs_gained_nothing_writes_nothing(identity: Identity) -> None:
    identity.see([web("ana", "b1"), mobile("ana", "i1", minute=3)])
    identity.run()
    versions = {model: identity.version(model) for model in IDENTITY_MODELS}

    idle = identity.run()

    assert {model: r.status for model, r in idle.items()} == dict.fromkeys(
        IDENTITY_MODELS, "up_to_date"
    )
    assert {model: identity.version(model) for model in IDENTITY_MODELS} == versions


def test_a_link_seen_again_within_its_span_changes_no_row_of_the_graph(identity: Identity) -> None:
    identity.see([web("ana", "b1", minute=0), web("ana", "b1", minute=10), web("bo", "b2")])
    identity.run()
    graph_before = identity.version("silver.identity_graph")
    gold_before = identity.version("gold.identity_graph")
    tables = identity.tables()

    # The producer re-merges the pair with the span it already had (a replayed batch).
    identity.see([web("ana", "b1", minute=5)])
    ran = identity.run()

    assert ran["silver.identity_graph"].rows_in == 1
    assert ran["silver.identity_graph"].rows_out == 0
    assert identity.rewritten_since("silver.identity_graph", graph_before) == set()
    assert identity.rewritten_since("gold.identity_graph", gold_before) == set()
    assert identity.tables() == tables


# --- any split into ticks ends where a full rebuild does ----------------------------------------


def random_sightings(rng: random.Random) -> list[Sighting]:
    """Chains, stars, two big components and the link that merges them, self links, repeats,
    and anonymous ids spelt like user ids, in a random order but for the merging link, which
    comes last half of the time."""
    users = [f"u{i}" for i in range(rng.randint(4, 10))]
    anonymous = [f"a{i}" for i in range(rng.randint(4, 10))] + users[:2]
    side = [web, mobile]
    sightings = []

    def sight(user: str, anon: str) -> None:
        sightings.append(rng.choice(side)(user, anon, rng.randrange(600)))

    chain = rng.sample(users, 3)
    for user, anon in zip(chain, rng.sample(anonymous, 3), strict=True):
        sight(user, anon)
    for user in rng.sample(users, rng.randint(2, 4)):  # a shared tablet
        sight(user, "tablet")
    for anon in rng.sample(anonymous, rng.randint(2, 4)):  # a user on many browsers
        sight("many", anon)
    for _ in range(rng.randint(3, 7)):  # two big components, joined below
        sight("left", f"l{rng.randrange(20)}")
        sight("right", f"r{rng.randrange(20)}")
    for _ in range(rng.randint(0, 12)):
        sight(rng.choice(users), rng.choice(anonymous))
    sight(rng.choice(users), rng.choice(users))  # a self link, or a user id as an anonymous id
    sightings.extend(rng.choices(sightings, k=rng.randint(1, 5)))  # seen again
    rng.shuffle(sightings)
    bridge = rng.choice(side)("right", rng.choice(["l0", "tablet"]), rng.randrange(600))
    sightings.insert(
        len(sightings) if rng.random() < 0.5 else rng.randrange(len(sightings)), bridge
    )
    return sightings


def split_into_ticks(rng: random.Random, sightings: list[Sighting]) -> list[list[Sighting]]:
    cuts = sorted(rng.sample(range(1, len(sightings)), rng.randint(1, 4)))
    return [sightings[a:b] for a, b in zip([0, *cuts], [*cuts, len(sightings)], strict=True)]


def expected_people(sightings: list[Sighting]) -> dict[tuple[str, str], str]:
    """Each (kind, id) with its person: the smallest user id of its component."""
    components: list[set[tuple[str, str]]] = []
    for s in sightings:
        if s.user == s.anonymous:
            continue
        joined = {("user", s.user), ("anonymous", s.anonymous)}
        for component in [c for c in components if c & joined]:
            joined |= component
            components.remove(component)
        components.append(joined)
    return {
        node: min(name for kind, name in component if kind == "user")
        for component in components
        for node in component
    }


@pytest.mark.parametrize("seed", range(30))
def test_any_split_of_the_links_into_ticks_gives_the_graph_of_a_full_rebuild(
    seed: int, identity: Identity
) -> None:
    rng = random.Random(seed)
    sightings = random_sightings(rng)

    for tick in split_into_ticks(rng, sightings):
        identity.see(tick)
        identity.run()
    ticked = identity.tables()
    identity.run(full_refresh=True)

    assert ticked == identity.tables()
    graph = identity.pipeline.rows("silver.identity_graph")
    assert {(r["kind"], r["identifier"]): r["person_id"] for r in graph} == expected_people(
        sightings
    )
