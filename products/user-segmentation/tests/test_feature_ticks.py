"""Features and rule membership tick by tick: any split of a realistic stream of web events, app
days and identity links into ticks (late events, repeats, sign-ins that merge a browser into a
user, a definition changed midway) ends in the features and membership a full rebuild gives,
and every entry and exit is recorded exactly once."""

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from user_segmentation.product import product
from user_segmentation.serving import _definitions

CONTEXT = product.context()
START = datetime(2026, 11, 1, tzinfo=UTC)
FREQUENT = {"feature": "frequency", "op": ">=", "value": 3}
RECENT_ON_WEB = {
    "all": [
        {"feature": "recency_days", "op": "<=", "value": 2},
        {"feature": "last_platform", "op": "=", "value": "web"},
    ]
}
BUYERS = {"feature": "purchases", "op": ">", "value": 0}


@dataclass
class Arrival:
    """What one producer publishes about one thing: a web event, an app day or a link."""

    table: str
    row: dict[str, Any]


@dataclass
class Stream:
    """The producers' gold tables, grown arrival by arrival and published whole each tick, as
    their `replace` models publish them."""

    kit: SimpleNamespace
    published: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def deliver(self, pipeline: Any, arrivals: list[Arrival]) -> None:
        for arrival in arrivals:
            rows = self.published.setdefault(arrival.table, [])
            if arrival.row not in rows:  # a repeat is published once, as upstream dedups it
                rows.append(arrival.row)
        for table in (
            self.kit.WEB_LINKS,
            self.kit.MOBILE_LINKS,
            self.kit.SESSION_EVENTS,
            self.kit.USER_DAYS,
        ):
            pipeline.publish(table, self.published.get(table, []))


def moment(day: int, minute: int) -> str:
    return (START + timedelta(days=day, minutes=minute)).strftime("%Y-%m-%d %H:%M")


def random_arrivals(rng: random.Random, kit: SimpleNamespace) -> list[Arrival]:
    """Five people over 40 days: web sessions (some across midnight, some before sign-in),
    purchases, app days before and after sign-in, links that arrive after the events they
    explain, late events, and repeats; shuffled into an arrival order."""
    arrivals: list[Arrival] = []
    pages = ["/", "/products/a", "/products/b", "/cart", "/checkout"]
    for person in range(5):
        user, browser, install = f"u{person}", f"b{person}", f"i{person}"
        signed_in_from = rng.randrange(40)
        for session in range(rng.randint(1, 6)):
            day, minute = rng.randrange(40), rng.choice([rng.randrange(1440), 1435])
            for step in range(rng.randint(1, 4)):  # 1435 + a few minutes: across midnight
                when = moment(day, minute + step * 3)
                signed = day >= signed_in_from
                event_id = f"w-{person}-{session}-{step}"
                if step == 3 and rng.random() < 0.5:
                    row = kit.web_event(
                        event_id, when, browser=browser, user=user if signed else None,
                        session=f"s-{person}-{session}", event="purchase", revenue=10.0,
                        path="/checkout/complete",
                    )  # fmt: skip
                else:
                    row = kit.web_event(
                        event_id, when, browser=browser, user=user if signed else None,
                        session=f"s-{person}-{session}", page=pages[step + rng.randrange(2)],
                    )  # fmt: skip
                arrivals.append(Arrival(kit.SESSION_EVENTS, row))
        for day in rng.sample(range(40), rng.randint(0, 4)):
            signed = day >= signed_in_from
            start = rng.randrange(1300)
            arrivals.append(
                Arrival(
                    kit.USER_DAYS,
                    kit.app_day(
                        user if signed else install, signed_in=signed,
                        first=moment(day, start), last=moment(day, start + rng.randrange(100)),
                        sessions=rng.randint(0, 2),
                        events=rng.randint(1, 6), purchases=rng.randint(0, 1),
                        revenue={"EUR": 5.0}, screens={rng.choice(["Home", "Cart"]): 2},
                    ),
                )
            )  # fmt: skip
        if signed_in_from < 40:
            link_day = moment(signed_in_from, 0)
            arrivals.append(Arrival(kit.WEB_LINKS, kit.link(user, browser, link_day)))
            arrivals.append(Arrival(kit.MOBILE_LINKS, kit.link(user, install, link_day)))
    arrivals.append(Arrival(kit.WEB_LINKS, kit.link("u0", "b1", moment(20, 0))))  # shared browser
    rng.shuffle(arrivals)
    # Late events: a few old events arrive last, after newer days were published.
    late = sorted(rng.sample(range(len(arrivals)), 3), reverse=True)
    arrivals.extend(arrivals.pop(index) for index in late)
    arrivals.extend(rng.choices(arrivals, k=3))  # repeats
    return arrivals


def split_into_ticks(rng: random.Random, arrivals: list[Arrival]) -> list[list[Arrival]]:
    cuts = sorted(rng.sample(range(1, len(arrivals)), rng.randint(2, 4)))
    return [arrivals[a:b] for a, b in zip([0, *cuts], [*cuts, len(arrivals)], strict=True)]


def features(pipeline: Any) -> list[tuple[Any, ...]]:
    return sorted(
        tuple(tuple(v) if isinstance(v, list) else v for v in row.values())
        for row in pipeline.rows("gold.user_features")
    )


def membership(pipeline: Any) -> set[tuple[str, str]]:
    return {(r["segment_id"], r["person_id"]) for r in pipeline.rows("gold.segment_membership")}


def replay(changes: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """The members the history of changes leaves, failing on a change recorded twice (an entry
    of a member, an exit of someone outside)."""
    members: set[tuple[str, str]] = set()
    for change in sorted(changes, key=lambda c: c["changed_at"]):
        pair = (change["segment_id"], change["person_id"])
        if change["change"] == "enter":
            assert pair not in members, f"{pair} entered twice"
            members.add(pair)
        else:
            assert pair in members, f"{pair} left without being in"
            members.remove(pair)
    return members


@pytest.mark.parametrize("seed", range(12))
def test_any_split_into_ticks_gives_the_features_and_membership_of_a_full_rebuild(
    seed: int, pipeline: Any, kit: SimpleNamespace
) -> None:
    rng = random.Random(seed)
    arrivals = random_arrivals(rng, kit)
    ticks = split_into_ticks(rng, arrivals)
    stream = Stream(kit)
    frequent = _definitions.create(pipeline.lake, CONTEXT, "test", "f", None, FREQUENT)
    _definitions.create(pipeline.lake, CONTEXT, "test", "r", None, RECENT_ON_WEB)
    changed_at_tick = rng.randrange(len(ticks))

    for number, tick in enumerate(ticks):
        if number == changed_at_tick:  # a definition changed through the API midway
            _definitions.update(
                pipeline.lake, CONTEXT, frequent["segment_id"], "test", "f", None, BUYERS
            )
        stream.deliver(pipeline, tick)
        pipeline.run()
    ticked_features, ticked_members = features(pipeline), membership(pipeline)
    history = pipeline.rows("gold.segment_changes")

    pipeline.run(full_refresh=True)

    assert ticked_features == features(pipeline)
    assert ticked_members == membership(pipeline)
    assert replay(history) == ticked_members
