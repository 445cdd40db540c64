"""Synthetic traffic: mobile and web users, deterministic by seed, in the SDKs' wire formats.

Mobile users open the app, view screens, tap, add to cart, buy and sometimes crash, on iOS or
Android with real-looking versions and devices. Web visitors arrive from search, social, email
or ads with UTM tags, view pages and click, and walk a funnel (home, product, cart, checkout,
purchase) with drop-off; a few are bots. Some people use both and identify themselves, which
links their anonymous ids to their user id. A small share of events arrive twice, or a day late
(delivered with the next day's traffic). Events carry no `sentAt`: to the collector this is a
historical import, so their timestamps are kept as they are.
"""

import random
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import orjson

from dataplatform.core.errors import TerminalError
from dataplatform.platform.generator._distributions import (
    ANDROID_DEVICES,
    APP_DAY_CHANCE,
    APP_DAY_SECONDS,
    APP_GAP_SECONDS,
    APP_NAME,
    APP_VERSIONS,
    ARRIVALS,
    BOT_SHARE,
    BOTS,
    BROWSED_CATEGORIES,
    BROWSERS,
    CART_CHANCE,
    CLICK_CHANCE,
    CLICK_GAP_SECONDS,
    CRASH_CHANCE,
    CRASHY_VERSION,
    CRASHY_VERSION_EXTRA,
    CURRENCIES,
    FUNNEL,
    FUNNEL_CONTINUES,
    IDENTIFY_CHANCE,
    IOS_DEVICES,
    LATE_OR_DUPLICATE_RATE,
    LIBRARY,
    MOBILE_SHARE,
    OS_VERSIONS,
    PAGE_GAP_SECONDS,
    POSTHOG_SHARE,
    PRODUCTS,
    PURCHASE_AFTER_SECONDS,
    PURCHASE_CHANCE,
    REVENUE,
    SCREENS,
    SCREENS_PER_SESSION,
    SESSIONS_PER_DAY,
    SITE,
    TAP_CHANCE,
    TAP_TARGETS,
    TRAITS_PLAN,
    UPGRADE_CHANCE,
    WEB_CURRENCY,
    WEB_DAY_CHANCE,
    WEB_DAY_SECONDS,
    WEB_FROM,
)

if TYPE_CHECKING:
    from dataplatform.core.connectors.lakehouse import Lakehouse

Event = dict[str, Any]
WireFormat = Literal["segment", "posthog"]


@dataclass
class Person:
    user_id: str
    mobile: Literal["ios", "android"] | None
    web: bool
    bot: bool
    wire: WireFormat
    device_id: str
    anonymous_id: str
    device_model: str = ""
    app_version: str = ""
    browser: str = ""


@dataclass
class Traffic:
    """Events of one person's day, by destination and wire format."""

    mobile: list[Event] = field(default_factory=list)
    web_segment: list[Event] = field(default_factory=list)
    web_posthog: list[Event] = field(default_factory=list)


class TrafficGenerator:
    """Yields each person's events day by day; the same seed and start give the same events."""

    def __init__(
        self, users: int, days: int, seed: int = 42, start: datetime | None = None
    ) -> None:
        self.users = users
        self.days = days
        self.seed = seed
        self.start = (start or _midnight_days_ago(days)).astimezone(UTC)

    def people(self) -> list[Person]:
        rng = random.Random(self.seed)  # noqa: S311 (synthetic data, not secrets)
        people = []
        for index in range(self.users):
            roll = rng.random()
            mobile = rng.choice(("ios", "android")) if roll < MOBILE_SHARE else None
            web = roll >= WEB_FROM
            person = Person(
                user_id=f"user-{index:06d}",
                mobile=mobile,  # type: ignore[arg-type]
                web=web,
                bot=web and mobile is None and rng.random() < BOT_SHARE,
                wire="posthog" if rng.random() < POSTHOG_SHARE else "segment",
                device_id=_uuid(rng),
                anonymous_id=_uuid(rng),
            )
            if mobile:
                person.device_model = rng.choice(
                    IOS_DEVICES if mobile == "ios" else ANDROID_DEVICES
                )
                person.app_version = rng.choice(APP_VERSIONS)
            person.browser = rng.choice(BOTS if person.bot else BROWSERS)
            people.append(person)
        return people

    def days_of_traffic(self) -> Iterator[Traffic]:
        """One `Traffic` per person-day that has events, in time order of days.

        Late events (a device that was offline) come with the next day's traffic instead.
        """
        people = self.people()
        late = Traffic()
        for day in range(self.days):
            rng = random.Random(f"{self.seed}:{day}")  # noqa: S311
            midnight = self.start + timedelta(days=day)
            arriving_late, late = late, Traffic()
            for person in people:
                traffic = Traffic()
                if person.mobile and rng.random() < APP_DAY_CHANCE:
                    self._app_day(rng, person, midnight, traffic)
                if person.web and rng.random() < WEB_DAY_CHANCE:
                    for _ in range(rng.randint(*SESSIONS_PER_DAY)):
                        self._web_visit(rng, person, midnight, traffic)
                _defer_late_events(rng, traffic, late)
                if traffic.mobile or traffic.web_segment or traffic.web_posthog:
                    yield traffic
            yield arriving_late
        yield late

    # --- mobile ---------------------------------------------------------------------------------

    def _app_day(
        self, rng: random.Random, person: Person, midnight: datetime, out: Traffic
    ) -> None:
        if rng.random() < UPGRADE_CHANCE:
            person.app_version = APP_VERSIONS[-1]  # upgrades happen
        for _ in range(rng.randint(*SESSIONS_PER_DAY)):
            at = midnight + timedelta(seconds=rng.randint(*APP_DAY_SECONDS))
            session = _uuid(rng)
            events: list[tuple[str, dict[str, Any]]] = [("app_open", {})]
            for _ in range(rng.randint(*SCREENS_PER_SESSION)):
                events.append(("screen_view", {"screen": rng.choice(SCREENS)}))
                if rng.random() < TAP_CHANCE:
                    events.append(("tap", {"target": rng.choice(TAP_TARGETS)}))
            if rng.random() < CART_CHANCE:
                product = rng.choice(PRODUCTS)
                events.append(("add_to_cart", {"product": product}))
                if rng.random() < PURCHASE_CHANCE:
                    events.append(
                        (
                            "purchase",
                            {
                                "product": product,
                                "revenue": round(rng.uniform(*REVENUE), 2),
                                "currency": rng.choice(CURRENCIES),
                            },
                        )
                    )
            extra = CRASHY_VERSION_EXTRA if person.app_version == CRASHY_VERSION else 0
            if rng.random() < CRASH_CHANCE + extra:
                events.append(("crash", {"exception": "NullPointerException", "fatal": True}))
            else:
                events.append(("app_background", {}))
            for name, properties in events:
                at += timedelta(seconds=rng.randint(*APP_GAP_SECONDS))
                self._emit(
                    rng, out.mobile, _mobile_event(person, name, properties, session, at, rng)
                )

    # --- web ------------------------------------------------------------------------------------

    def _web_visit(
        self, rng: random.Random, person: Person, midnight: datetime, out: Traffic
    ) -> None:
        at = midnight + timedelta(seconds=rng.randint(*WEB_DAY_SECONDS))
        referrer, source, medium, campaign = rng.choice(ARRIVALS)
        target = out.web_posthog if person.wire == "posthog" else out.web_segment
        path_product = rng.choice(PRODUCTS)
        browsing = [
            f"/category/{rng.choice(PRODUCTS)}s" for _ in range(rng.randint(*BROWSED_CATEGORIES))
        ]
        steps = [FUNNEL[0], *browsing]
        for chance, step in zip(FUNNEL_CONTINUES, FUNNEL[1:], strict=True):
            if rng.random() >= chance:
                break
            steps.append(step)
        identified = person.mobile is not None and rng.random() < IDENTIFY_CHANCE
        for number, path in enumerate(steps):
            at += timedelta(seconds=rng.randint(*PAGE_GAP_SECONDS))
            url = SITE + path.format(product=path_product)
            page = {
                "url": url,
                "path": url.removeprefix(SITE),
                "referrer": referrer if number == 0 else SITE + "/",
                "title": path,
            }
            self._emit(
                rng,
                target,
                _web_event(
                    person, "page", url, page, (source, medium, campaign), at, rng, identified
                ),
            )
            if rng.random() < CLICK_CHANCE:
                at += timedelta(seconds=rng.randint(*CLICK_GAP_SECONDS))
                self._emit(
                    rng,
                    target,
                    _web_event(
                        person, "click", url, page, (source, medium, campaign), at, rng, identified
                    ),
                )
        if steps[-1] == FUNNEL[-1]:
            at += timedelta(seconds=PURCHASE_AFTER_SECONDS)
            self._emit(
                rng,
                target,
                _web_event(
                    person,
                    "purchase",
                    SITE + FUNNEL[-1],
                    page,
                    (source, medium, campaign),
                    at,
                    rng,
                    identified,
                    revenue=round(rng.uniform(*REVENUE), 2),
                ),
            )
        if identified:
            self._emit(rng, target, _identify(person, at + timedelta(seconds=1), rng))

    def _emit(self, rng: random.Random, out: list[Event], event: Event) -> None:
        if rng.random() < LATE_OR_DUPLICATE_RATE:
            out.append(dict(event))  # the SDK retried: the same message id again
        out.append(event)


def _mobile_event(
    person: Person,
    name: str,
    properties: dict[str, Any],
    session: str,
    at: datetime,
    rng: random.Random,
) -> Event:
    os_name = "iOS" if person.mobile == "ios" else "Android"
    return {
        "type": "screen" if name == "screen_view" else "track",
        **({"name": properties["screen"]} if name == "screen_view" else {"event": name}),
        "userId": person.user_id,
        "anonymousId": person.device_id,
        "messageId": _uuid(rng),
        "timestamp": at.isoformat(),
        "properties": {**properties, "session_id": session},
        "context": {
            "app": {
                "name": APP_NAME,
                "version": person.app_version,
                "build": person.app_version.replace(".", ""),
            },
            "device": {"id": person.device_id, "model": person.device_model, "type": person.mobile},
            "os": {"name": os_name, "version": OS_VERSIONS[person.mobile or "ios"]},
            "sessionId": session,
            "library": LIBRARY,
        },
    }


def _web_event(
    person: Person,
    kind: str,
    url: str,
    page: dict[str, Any],
    campaign: tuple[str | None, str | None, str | None],
    at: datetime,
    rng: random.Random,
    identified: bool,
    revenue: float | None = None,
) -> Event:
    source, medium, name = campaign
    utm = {"source": source, "medium": medium, "name": name} if source else {}
    user_id = person.user_id if identified else None
    if person.wire == "posthog":
        properties: dict[str, Any] = {
            "$current_url": url,
            "$pathname": page["path"],
            "$referrer": page["referrer"],
            "$raw_user_agent": person.browser,
            "$anon_distinct_id": person.anonymous_id,
            **({f"utm_{k if k != 'name' else 'campaign'}": v for k, v in utm.items()}),
            **({"revenue": revenue, "currency": WEB_CURRENCY} if revenue else {}),
        }
        return {
            "event": "$pageview" if kind == "page" else kind,
            "distinct_id": user_id or person.anonymous_id,
            "properties": properties,
            "timestamp": at.isoformat(),
            "uuid": _uuid(rng),
        }
    event: Event = {
        "type": "page" if kind == "page" else "track",
        **({"name": page["title"]} if kind == "page" else {"event": kind}),
        "anonymousId": person.anonymous_id,
        "messageId": _uuid(rng),
        "timestamp": at.isoformat(),
        "properties": {
            **page,
            **({"revenue": revenue, "currency": WEB_CURRENCY} if revenue else {}),
        },
        "context": {
            "page": page,
            "userAgent": person.browser,
            "library": LIBRARY,
            **({"campaign": utm} if utm else {}),
        },
    }
    if user_id:
        event["userId"] = user_id
    return event


def _identify(person: Person, at: datetime, rng: random.Random) -> Event:
    traits = {"email": f"{person.user_id}@example.com", "plan": TRAITS_PLAN}
    if person.wire == "posthog":
        return {
            "event": "$identify",
            "distinct_id": person.user_id,
            "properties": {"$anon_distinct_id": person.anonymous_id, "$set": traits},
            "timestamp": at.isoformat(),
            "uuid": _uuid(rng),
        }
    return {
        "type": "identify",
        "userId": person.user_id,
        "anonymousId": person.anonymous_id,
        "traits": traits,
        "messageId": _uuid(rng),
        "timestamp": at.isoformat(),
    }


def _defer_late_events(rng: random.Random, traffic: Traffic, late: Traffic) -> None:
    """Move a small share of the events to `late`, which is delivered with the next day."""
    for name in ("mobile", "web_segment", "web_posthog"):
        events: list[Event] = getattr(traffic, name)
        keep: list[Event] = []
        for event in events:
            (getattr(late, name) if rng.random() < LATE_OR_DUPLICATE_RATE else keep).append(event)
        setattr(traffic, name, keep)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _midnight_days_ago(days: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days)


@dataclass(frozen=True)
class WriteKeys:
    ios: str
    android: str
    web: str


def batches(
    traffic_days: Iterable[Traffic], keys: WriteKeys, size: int = 250
) -> Iterator[tuple[str, dict[str, Any], int]]:
    """(path, body, events) requests in both wire formats, each holding up to `size` events."""
    pending: dict[tuple[str, str], list[Event]] = {}
    for traffic in traffic_days:
        for events, path, key in (
            (traffic.mobile, "/v1/batch", None),
            (traffic.web_segment, "/v1/batch", keys.web),
            (traffic.web_posthog, "/batch/", keys.web),
        ):
            for event in events:
                write_key = key or (
                    keys.ios if event["context"]["os"]["name"] == "iOS" else keys.android
                )
                queue = pending.setdefault((path, write_key), [])
                queue.append(event)
                if len(queue) >= size:
                    yield _request(path, write_key, queue)
                    pending[(path, write_key)] = []
    for (path, write_key), queue in pending.items():
        if queue:
            yield _request(path, write_key, queue)


def _request(path: str, write_key: str, events: list[Event]) -> tuple[str, dict[str, Any], int]:
    # No `sentAt`: this is a historical import, whose timestamps are kept as they are rather than
    # corrected against today's receive time.
    if path == "/batch/":
        return path, {"api_key": write_key, "batch": events}, len(events)
    return path, {"writeKey": write_key, "batch": events}, len(events)


def send_over_http(
    generator: TrafficGenerator,
    url: str,
    keys: WriteKeys,
    *,
    clients: int = 4,
    on_sent: Callable[[int], None] = lambda _: None,
) -> int:
    """Send all traffic through the collector at `url` with `clients` concurrent connections.

    Raises on the first request the collector refuses; returns how many events it accepted.
    """
    import httpx2

    local = threading.local()

    def send(request: tuple[str, dict[str, Any], int]) -> int:
        path, body, count = request
        if not hasattr(local, "client"):
            local.client = httpx2.Client(base_url=url, timeout=60)
        _post(local.client, path, body)
        on_sent(count)
        return count

    with ThreadPoolExecutor(clients) as pool:
        return sum(pool.map(send, batches(generator.days_of_traffic(), keys)))


def _post(client: Any, path: str, body: dict[str, Any]) -> None:
    response = client.post(
        path, content=orjson.dumps(body), headers={"Content-Type": "application/json"}
    )
    if response.status_code != 200:
        raise TerminalError(
            f"The collector refused {path} with {response.status_code}: {response.text}"
        )


def happening_now(generator: TrafficGenerator) -> Iterator[Traffic]:
    """The generator's person-days, each moved in time so that its last event happens now.

    For live traffic (realtime visitors, freshness): a person's earlier events that day land
    earlier today, as if they had been seen this morning.
    """
    for traffic in generator.days_of_traffic():
        events = [*traffic.mobile, *traffic.web_segment, *traffic.web_posthog]
        if not events:
            continue
        latest = max(datetime.fromisoformat(str(event["timestamp"])) for event in events)
        shift = datetime.now(UTC) - latest
        for event in events:
            moved = datetime.fromisoformat(str(event["timestamp"])) + shift
            event["timestamp"] = moved.isoformat()
        yield traffic


def send_live_over_http(
    generator: TrafficGenerator,
    url: str,
    keys: WriteKeys,
    stop: threading.Event,
    *,
    pause_seconds: float = 0.5,
) -> int:
    """Send one person-day at a time, happening now, every `pause_seconds` until `stop` is set.

    Returns how many events the collector accepted; raises on the first request it refuses.
    """
    import httpx2

    sent = 0
    with httpx2.Client(base_url=url, timeout=60) as client:
        for traffic in happening_now(generator):
            for path, body, count in batches([traffic], keys):
                _post(client, path, body)
                sent += count
            if stop.wait(pause_seconds):
                break
    return sent


def write_to_bronze(
    generator: TrafficGenerator,
    lake: "Lakehouse",
    destinations: dict[str, str],
    *,
    chunk_rows: int = 50_000,
    on_sent: Callable[[int], None] = lambda _: None,
) -> int:
    """Normalise the traffic as the collector would and append it to bronze directly.

    `destinations` maps `mobile` and `web` to their bronze tables. For volumes where HTTP would
    be the bottleneck; the events are received when they were sent.
    """
    import pyarrow as pa

    from dataplatform.core.events import ENVELOPE_SCHEMA
    from dataplatform.platform.collector import from_posthog, from_segment

    pending: dict[str, list[Event]] = {"mobile": [], "web": []}
    written = 0

    def flush(kind: str) -> None:
        nonlocal written
        rows = pending[kind]
        if rows:
            lake.append(destinations[kind], pa.Table.from_pylist(rows, schema=ENVELOPE_SCHEMA))
            written += len(rows)
            on_sent(len(rows))
            pending[kind] = []

    for traffic in generator.days_of_traffic():
        for kind, events, wire in (
            ("mobile", traffic.mobile, "segment"),
            ("web", traffic.web_segment, "segment"),
            ("web", traffic.web_posthog, "posthog"),
        ):
            for event in events:
                received = datetime.fromisoformat(str(event["timestamp"]))
                normalise = from_posthog if wire == "posthog" else from_segment
                pending[kind].append(
                    normalise(event, received_at=received, source_id=f"synthetic-{kind}")
                )
            if len(pending[kind]) >= chunk_rows:
                flush(kind)
    flush("mobile")
    flush("web")
    return written
