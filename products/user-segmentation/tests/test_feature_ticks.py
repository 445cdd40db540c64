"""Features and rule membership tick by tick: any split of a realistic stream of web events, app
days and identity links into ticks (late events that restart a session, sign-ins whose link
gives a browser's events their user, app days that grow, repeats, a definition changed midway)
ends in the tables a full rebuild gives, and every entry and exit is recorded exactly once."""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
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
# The tables compared row for row with a full rebuild's (the membership by its pairs: a full
# refresh starts the history of changes again, so every member enters anew).
TABLES = ["silver.person_activity", "gold.user_features"]


@dataclass(frozen=True)
class WebEvent:
    """An event as the browser sent it: its session and user are what web makes of it."""

    event_id: str
    when: str
    browser: str
    user: str | None  # its own user id, when signed in
    session: str  # the visit it belongs to; its id is the event_id of its earliest event
    page: str | None = None
    purchase: bool = False


@dataclass(frozen=True)
class AppPart:
    """Part of a user's day on one platform in the app: mobile adds the parts up."""

    key: str
    signed_in: bool
    platform: str
    first: str
    last: str
    sessions: int
    events: int
    purchases: int
    screen: str


@dataclass(frozen=True)
class Link:
    table: str  # the producer's gold.identity_links
    user: str
    anonymous: str
    when: str


Arrival = WebEvent | AppPart | Link


@dataclass
class Stream:
    """The producers' gold tables as their incremental models write them: each tick merges the
    rows the arrivals add or change, in one commit per table, sometimes followed by a second
    commit rewriting the same rows unchanged (web rewrites a browser's day whole)."""

    kit: SimpleNamespace
    rng: random.Random
    arrived: set[Arrival] = field(default_factory=set)
    published: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)

    def deliver(self, pipeline: Any, arrivals: list[Arrival]) -> None:
        self.arrived |= set(arrivals)  # a repeat changes nothing upstream
        for table, rows in self.tables().items():
            before = self.published.setdefault(table, {})
            changed = [row for key, row in rows.items() if before.get(key) != row]
            before.update(rows)
            if not pipeline.lake.exists(table):
                pipeline.publish(table, changed)
                continue
            if not changed:
                continue
            data = pa.Table.from_pylist(changed, self.kit.SCHEMAS[table])
            for _ in range(2 if self.rng.random() < 0.3 else 1):
                pipeline.lake.merge(table, data, self.keys[table])

    @property
    def keys(self) -> dict[str, list[str]]:
        """Each producer's table's key, as its merge model declares it."""
        return {
            self.kit.SESSION_EVENTS: ["event_id"],
            self.kit.USER_DAYS: ["user_id", "day", "platform"],
            self.kit.WEB_LINKS: ["user_id", "anonymous_id"],
            self.kit.MOBILE_LINKS: ["user_id", "anonymous_id"],
        }

    def tables(self) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
        """What each producer publishes for the arrivals so far, by its table's key."""
        links = [a for a in self.arrived if isinstance(a, Link)]
        return {
            self.kit.SESSION_EVENTS: self._session_events(links),
            self.kit.USER_DAYS: self._user_days(),
            self.kit.WEB_LINKS: self._links(links, self.kit.WEB_LINKS),
            self.kit.MOBILE_LINKS: self._links(links, self.kit.MOBILE_LINKS),
        }

    def _session_events(self, links: list[Link]) -> dict[tuple[Any, ...], dict[str, Any]]:
        events = sorted(
            (a for a in self.arrived if isinstance(a, WebEvent)), key=lambda e: (e.when, e.event_id)
        )
        session_ids: dict[str, str] = {}
        for event in events:  # earliest first: a session's id is its first event's
            session_ids.setdefault(event.session, event.event_id)
        # A browser's events take the user of its latest sign-in link when they carry none.
        linked = {
            link.anonymous: link.user
            for link in sorted(links, key=lambda link: (link.when, link.user))
            if link.table == self.kit.WEB_LINKS
        }
        rows = {}
        for e in events:
            common = {"browser": e.browser, "session": session_ids[e.session]}
            user = e.user or linked.get(e.browser)
            if e.purchase:
                row = self.kit.web_event(
                    e.event_id, e.when, **common, user=user, event="purchase", revenue=10.0,
                    path="/checkout/complete",
                )  # fmt: skip
            else:
                row = self.kit.web_event(e.event_id, e.when, **common, user=user, page=e.page)
            rows[(e.event_id,)] = row
        return rows

    def _user_days(self) -> dict[tuple[Any, ...], dict[str, Any]]:
        days: dict[tuple[Any, ...], list[AppPart]] = {}
        for part in (a for a in self.arrived if isinstance(a, AppPart)):
            days.setdefault((part.key, part.first[:10], part.platform), []).append(part)
        rows = {}
        for key, parts in days.items():
            screens: dict[str, int] = {}
            for part in parts:
                screens[part.screen] = screens.get(part.screen, 0) + 2
            rows[key] = self.kit.app_day(
                parts[0].key,
                signed_in=parts[0].signed_in,
                platform=parts[0].platform,
                first=min(p.first for p in parts),
                last=max(p.last for p in parts),
                sessions=sum(p.sessions for p in parts),
                events=sum(p.events for p in parts),
                purchases=sum(p.purchases for p in parts),
                revenue={"EUR": 5.0 * sum(p.purchases for p in parts)},
                screens=screens,
            )
        return rows

    def _links(self, links: list[Link], table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
        spans: dict[tuple[str, str], list[str]] = {}
        for link in links:
            if link.table == table:
                spans.setdefault((link.user, link.anonymous), []).append(link.when)
        rows = {}
        for (user, anonymous), times in spans.items():
            row = self.kit.link(user, anonymous, min(times))
            row["last_linked_at"] = self.kit.at(max(times))
            rows[(user, anonymous)] = row
        return rows


def moment(day: int, minute: int) -> str:
    return (START + timedelta(days=day, minutes=minute)).strftime("%Y-%m-%d %H:%M")


def random_arrivals(rng: random.Random, kit: SimpleNamespace) -> list[Arrival]:
    """Five people over 40 days: web sessions (some across midnight, some before sign-in),
    purchases, app days in parts before and after sign-in on two platforms, links that arrive
    after the events they explain, a browser shared by two users, late events and repeats;
    shuffled into an arrival order."""
    arrivals: list[Arrival] = []
    pages = ["/", "/products/a", "/products/b", "/cart", "/checkout"]
    for person in range(5):
        user, browser, install = f"u{person}", f"b{person}", f"i{person}"
        signed_in_from = rng.randrange(40)
        for session in range(rng.randint(1, 6)):
            day, minute = rng.randrange(40), rng.choice([rng.randrange(1440), 1435])
            for step in range(rng.randint(1, 4)):  # 1435 + a few minutes: across midnight
                arrivals.append(
                    WebEvent(
                        f"w-{person}-{session}-{step}",
                        moment(day, minute + step * 3),
                        browser,
                        user if day >= signed_in_from else None,
                        f"s-{person}-{session}",
                        page=pages[step + rng.randrange(2)],
                        purchase=step == 3 and rng.random() < 0.5,
                    )
                )
        for day in rng.sample(range(40), rng.randint(0, 4)):
            signed = day >= signed_in_from
            platform = rng.choice(["ios", "android"])
            start = rng.randrange(1200)
            for part in range(rng.randint(1, 2)):  # the evening's events may come later
                first = start + part * 120
                arrivals.append(
                    AppPart(
                        user if signed else install, signed, platform, moment(day, first),
                        moment(day, first + rng.randrange(100)), rng.randint(0, 2),
                        rng.randint(1, 6), rng.randint(0, 1), rng.choice(["Home", "Cart"]),
                    )
                )  # fmt: skip
        if signed_in_from < 40:
            arrivals.append(Link(kit.WEB_LINKS, user, browser, moment(signed_in_from, 0)))
            arrivals.append(Link(kit.MOBILE_LINKS, user, install, moment(signed_in_from, 0)))
    arrivals.append(Link(kit.WEB_LINKS, "u0", "b1", moment(20, 0)))  # a shared browser
    rng.shuffle(arrivals)
    # Late events: a few old events arrive last, after newer days were published.
    late = sorted(rng.sample(range(len(arrivals)), 3), reverse=True)
    arrivals.extend(arrivals.pop(index) for index in late)
    arrivals.extend(rng.choices(arrivals, k=3))  # repeats
    return arrivals


def split_into_ticks(rng: random.Random, arrivals: list[Arrival]) -> list[list[Arrival]]:
    cuts = sorted(rng.sample(range(1, len(arrivals)), rng.randint(2, 6)))
    return [arrivals[a:b] for a, b in zip([0, *cuts], [*cuts, len(arrivals)], strict=True)]


def table_rows(pipeline: Any, table: str) -> list[tuple[Any, ...]]:
    def plain(value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    return sorted(
        (tuple(plain(v) for v in row.values()) for row in pipeline.rows(table)),
        key=repr,
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


def run_ticks(
    seed: int,
    pipeline: Any,
    kit: SimpleNamespace,
    between_ticks: Callable[[int], None] = lambda number: None,
) -> None:
    rng = random.Random(seed)
    stream = Stream(kit, rng)
    for number, tick in enumerate(split_into_ticks(rng, random_arrivals(rng, kit))):
        between_ticks(number)
        stream.deliver(pipeline, tick)
        pipeline.run()


@pytest.mark.parametrize("seed", range(12))
def test_any_split_into_ticks_gives_the_tables_of_a_full_rebuild(
    seed: int, pipeline: Any, kit: SimpleNamespace
) -> None:
    frequent = _definitions.create(pipeline.lake, CONTEXT, "test", "f", None, FREQUENT)
    _definitions.create(pipeline.lake, CONTEXT, "test", "r", None, RECENT_ON_WEB)
    changed_at_tick = random.Random(seed).randrange(3)

    def change_a_definition(number: int) -> None:
        if number == changed_at_tick:  # a definition changed through the API midway
            _definitions.update(
                pipeline.lake, CONTEXT, frequent["segment_id"], "test", "f", None, BUYERS
            )

    run_ticks(seed, pipeline, kit, change_a_definition)
    ticked = {table: table_rows(pipeline, table) for table in TABLES}
    ticked_members = membership(pipeline)
    history = pipeline.rows("gold.segment_changes")

    pipeline.run(full_refresh=True)

    assert ticked == {table: table_rows(pipeline, table) for table in TABLES}
    assert ticked_members == membership(pipeline)
    assert replay(history) == ticked_members
