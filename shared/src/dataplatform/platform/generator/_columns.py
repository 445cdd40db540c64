"""Synthetic traffic straight into bronze, as columns: millions of events a second, not thousands.

The same people, days and shapes as the per-event generator (`_distributions`), drawn with
numpy's seeded `Generator` a day at a time, so a seed gives the same rows however they are
batched. Each event becomes the row the collector would store for the item an SDK sends: `raw`
is that item (Segment's `track`/`screen`/`page`/`identify` or PostHog's capture), and `context`
and `properties` are what the collector's normalisers make of it. The JSON is assembled from
fragments with Arrow's string kernels; a test checks it against `from_segment`/`from_posthog`.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from dataplatform.core.errors import InvalidRequestError
from dataplatform.platform.generator import _distributions as shape

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.core.connectors.lakehouse import Lakehouse

Columns = dict[str, np.ndarray]
BATCH_ROWS = 1_000_000  # per Delta commit: few enough commits, and a batch fits in memory
MOBILE_SOURCE = "synthetic-mobile"
WEB_SOURCE = "synthetic-web"
_HEADROOM = 1.15  # draw this much more than a day's quota, then cut to it
_DELIVERY_STREAM = 1_000  # a day draws its rounds from streams below this, its delivery from it


def _js(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True)
class Volume:
    """How much traffic: `users` over `days` from `start`, `events` in total when given."""

    users: int
    days: int
    start: datetime
    seed: int = 42
    events: int | None = None

    def __post_init__(self) -> None:
        if self.users < 1:
            raise InvalidRequestError(f"`--users` must be at least 1, not {self.users}", "users")
        if self.days < 1:
            raise InvalidRequestError(f"`--days` must be at least 1, not {self.days}", "days")
        if self.events is not None and self.events < self.users:
            raise InvalidRequestError(
                f"`--events` ({self.events}) must be at least `--users` ({self.users}): "
                "ask for more events or fewer users",
                "events",
            )
        if self.events is not None and self.busiest_day_chance > 1:
            most = int(self.events / self.busiest_day_chance)
            raise InvalidRequestError(
                f"`--events` {self.events} is more than {self.users} users make in "
                f"{self.days} days (at most about {most}): raise `--users`",
                "events",
            )

    @property
    def activity(self) -> float:
        """How much more (or less) often people are active than in the per-event generator."""
        if self.events is None:
            return 1.0
        return self.events / (self.users * self.days * _events_per_person_day())

    @property
    def busiest_day_chance(self) -> float:
        """The highest chance of being active on a day that this volume needs."""
        headroom = 1.0 if self.events is None else _HEADROOM
        return max(shape.APP_DAY_CHANCE, shape.WEB_DAY_CHANCE) * self.activity * headroom

    def quota(self, day: int) -> int | None:
        """Events of `day` when `events` is given: the total spread evenly over the days."""
        if self.events is None:
            return None
        return self.events // self.days + (1 if day < self.events % self.days else 0)


def _events_per_person_day() -> float:
    """Expected events of one person on one day, with the per-event generator's chances."""
    screens = sum(shape.SCREENS_PER_SESSION) / 2
    session = 2 + screens * (1 + shape.TAP_CHANCE) + shape.CART_CHANCE * (1 + shape.PURCHASE_CHANCE)
    reach, depth = 1.0, 0.0
    for chance in shape.FUNNEL_CONTINUES:
        reach *= chance
        depth += reach
    web_share = 1 - shape.WEB_FROM
    also_mobile = (shape.MOBILE_SHARE - shape.WEB_FROM) / web_share
    pages = 1 + sum(shape.BROWSED_CATEGORIES) / 2 + depth
    visit = pages * (1 + shape.CLICK_CHANCE) + reach + also_mobile * shape.IDENTIFY_CHANCE
    sessions = sum(shape.SESSIONS_PER_DAY) / 2
    mobile = shape.MOBILE_SHARE * shape.APP_DAY_CHANCE * session
    return sessions * (mobile + web_share * shape.WEB_DAY_CHANCE * visit)


# --- people ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class People:
    """Everyone's fixed traits, one array entry per person."""

    user_id: "pa.Array"
    device_id: "pa.Array"
    anonymous_id: "pa.Array"
    mobile: np.ndarray  # uses the app
    web: np.ndarray
    posthog: np.ndarray
    browser: np.ndarray  # index into BROWSERS + BOTS
    app_context: "pa.Array"  # per person and version state (2 * person + upgraded)
    crashy: np.ndarray  # per person and version state
    upgrade_day: np.ndarray


def people(volume: Volume) -> People:
    """The population, drawn from the seed alone."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng([volume.seed, 0])
    count = volume.users
    roll = rng.random(count)
    mobile = roll < shape.MOBILE_SHARE
    web = roll >= shape.WEB_FROM
    ios = rng.random(count) < 0.5
    bot = web & ~mobile & (rng.random(count) < shape.BOT_SHARE)
    browser = np.where(
        bot,
        len(shape.BROWSERS) + rng.integers(0, len(shape.BOTS), count),
        rng.integers(0, len(shape.BROWSERS), count),
    )
    device = rng.integers(0, len(shape.IOS_DEVICES), count)
    version = rng.integers(0, len(shape.APP_VERSIONS), count)
    # The per-event generator upgrades 3 % of active days; here the day is drawn up front.
    upgrade_day = rng.geometric(shape.UPGRADE_CHANCE * shape.APP_DAY_CHANCE, count)
    device_id = uuids(rng, count)
    numbers = pa.array(np.arange(count)).cast(pa.string())
    user_id = pc.binary_join_element_wise("user-", pc.utf8_lpad(numbers, 6, "0"), "")
    latest = len(shape.APP_VERSIONS) - 1
    states = np.stack([version, np.full(count, latest)], axis=1).reshape(-1)
    people_twice = np.repeat(np.arange(count), 2)
    return People(
        user_id=user_id,
        device_id=device_id,
        anonymous_id=uuids(rng, count),
        mobile=mobile,
        web=web,
        posthog=rng.random(count) < shape.POSTHOG_SHARE,
        browser=browser,
        app_context=_app_contexts(
            device_id.take(pa.array(people_twice)), ios[people_twice], device[people_twice], states
        ),
        crashy=np.array(shape.APP_VERSIONS)[states] == shape.CRASHY_VERSION,
        upgrade_day=upgrade_day,
    )


def _app_contexts(
    device_id: "pa.Array", ios: np.ndarray, device: np.ndarray, version: np.ndarray
) -> "pa.Array":
    """`context` of an app event up to its session id, per person and version state."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def head(version: str) -> str:
        app = {"name": shape.APP_NAME, "version": version, "build": version.replace(".", "")}
        return '{"app":' + _js(app) + ',"device":{"id":"'

    def tail(platform: str, model: str) -> str:
        os_name = "iOS" if platform == "ios" else "Android"
        os = {"name": os_name, "version": shape.OS_VERSIONS[platform]}
        return f'","model":{_js(model)},"type":"{platform}"}},"os":{_js(os)},"sessionId":"'

    heads = pa.array([head(v) for v in shape.APP_VERSIONS]).take(pa.array(version))
    tails = [
        tail(platform, model)
        for platform, models in (("android", shape.ANDROID_DEVICES), ("ios", shape.IOS_DEVICES))
        for model in models
    ]
    tail_index = ios.astype(np.int64) * len(shape.ANDROID_DEVICES) + device
    return pc.binary_join_element_wise(heads, device_id, pa.array(tails).take(tail_index), "")


def uuids(rng: np.random.Generator, count: int) -> "pa.Array":
    """`count` random version-4 UUID strings, as one Arrow array built without a Python loop."""
    raw = np.frombuffer(rng.bytes(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = _HEX_PAIRS[raw].view(np.uint8).reshape(count, 32)
    text = np.full((count, 36), ord("-"), dtype=np.uint8)
    for start, end, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        text[:, at : at + end - start] = hexed[:, start:end]
    return _fixed_width_strings(text)


_HEX_PAIRS = np.frombuffer(
    "".join(f"{byte:02x}" for byte in range(256)).encode(), dtype=np.uint16
)  # the two hex digits of each byte value, as one 16-bit cell


def _fixed_width_strings(text: np.ndarray) -> "pa.Array":
    """An Arrow string array of the rows of a 2-d uint8 matrix of ASCII characters."""
    import pyarrow as pa

    count, width = text.shape
    offsets = np.arange(0, width * (count + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(np.ascontiguousarray(text).tobytes())
    )


# --- the app -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Variant:
    """One kind of event: its item up to the user id, and its properties around the revenue."""

    type: str
    event: str
    raw_head: str
    properties_head: str = ""
    properties_tail: str = ""


def _app_variants() -> list[_Variant]:
    def track(name: str, head: str = "", tail: str = "") -> _Variant:
        return _Variant("track", name, f'{{"type":"track","event":{_js(name)}', head, tail)

    variants = [track("app_open")]
    variants += [
        _Variant(
            "screen", screen, f'{{"type":"screen","name":{_js(screen)}', f'"screen":{_js(screen)},'
        )
        for screen in shape.SCREENS
    ]
    variants += [track("tap", f'"target":{_js(target)},') for target in shape.TAP_TARGETS]
    variants += [track("add_to_cart", f'"product":{_js(p)},') for p in shape.PRODUCTS]
    variants += [
        track("purchase", f'"product":{_js(p)},"revenue":', f',"currency":{_js(c)},')
        for p in shape.PRODUCTS
        for c in shape.CURRENCIES
    ]
    variants.append(track("crash", '"exception":"NullPointerException","fatal":true,'))
    variants.append(track("app_background"))
    return variants


APP_VARIANTS = _app_variants()
_SCREEN = 1
_TAP = _SCREEN + len(shape.SCREENS)
_CART = _TAP + len(shape.TAP_TARGETS)
_PURCHASE = _CART + len(shape.PRODUCTS)
_CRASH = _PURCHASE + len(shape.PRODUCTS) * len(shape.CURRENCIES)
_BACKGROUND = _CRASH + 1


def _app_day(rng: np.random.Generator, crowd: People, day: int, activity: float) -> Columns:
    """The app sessions of one day: one entry per event, in each session's order."""
    active = np.flatnonzero(
        crowd.mobile & (rng.random(crowd.mobile.size) < shape.APP_DAY_CHANCE * activity)
    )
    low, high = shape.SESSIONS_PER_DAY
    owner = np.repeat(active, rng.integers(low, high + 1, active.size))
    sessions = owner.size
    state = 2 * owner + (crowd.upgrade_day[owner] <= day)
    screens = rng.integers(shape.SCREENS_PER_SESSION[0], shape.SCREENS_PER_SESSION[1] + 1, sessions)
    screen_session = np.repeat(np.arange(sessions), screens)
    screen_number = np.arange(screen_session.size) - np.repeat(
        np.cumsum(screens) - screens, screens
    )
    tapped = rng.random(screen_session.size) < shape.TAP_CHANCE
    product = rng.integers(0, len(shape.PRODUCTS), sessions)
    cart = rng.random(sessions) < shape.CART_CHANCE
    bought = cart & (rng.random(sessions) < shape.PURCHASE_CHANCE)
    crash_chance = shape.CRASH_CHANCE + shape.CRASHY_VERSION_EXTRA * crowd.crashy[state]
    crashed = rng.random(sessions) < crash_chance
    currency = rng.integers(0, len(shape.CURRENCIES), sessions)
    # (session, order within it, variant) of each event; sorting by the first two lays it out.
    every = np.arange(sessions)
    parts = [
        (every, np.zeros(sessions, np.int64), np.zeros(sessions, np.int64)),
        (
            screen_session,
            1 + 2 * screen_number,
            _SCREEN + rng.integers(0, len(shape.SCREENS), screen_session.size),
        ),
        (
            screen_session[tapped],
            2 + 2 * screen_number[tapped],
            _TAP + rng.integers(0, len(shape.TAP_TARGETS), tapped.sum()),
        ),
        (every[cart], np.full(cart.sum(), 1_000), _CART + product[cart]),
        (
            every[bought],
            np.full(bought.sum(), 1_001),
            _PURCHASE + product[bought] * len(shape.CURRENCIES) + currency[bought],
        ),
        (every, np.full(sessions, 1_002), np.where(crashed, _CRASH, _BACKGROUND)),
    ]
    session, order, variant = (np.concatenate(column) for column in zip(*parts, strict=True))
    layout = np.lexsort((order, session))
    session, variant = session[layout], variant[layout]
    start = rng.integers(shape.APP_DAY_SECONDS[0], shape.APP_DAY_SECONDS[1] + 1, sessions)
    gaps = rng.integers(shape.APP_GAP_SECONDS[0], shape.APP_GAP_SECONDS[1] + 1, session.size)
    low_revenue, high_revenue = shape.REVENUE
    return {
        "session": session,
        "person": owner[session],
        "state": state[session],
        "variant": variant,
        "second": start[session] + _within(session, gaps),
        "revenue": np.round(rng.uniform(low_revenue, high_revenue, session.size), 2),
    }


def _within(group: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Running sum of `steps` restarting at each new value of the sorted `group`."""
    total = np.cumsum(steps)
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    before = np.repeat(total[first] - steps[first], np.diff(np.r_[first, group.size]))
    running: np.ndarray = total - before
    return running


# --- the website -------------------------------------------------------------------------------

_PAGE, _CLICK, _WEB_PURCHASE, _IDENTIFY = range(4)
_SITE_REFERRER = len(shape.ARRIVALS)  # pages after the first were reached from the site


def _web_paths() -> list[tuple[str, str]]:
    """(path, title) of every page, in the order `_web_day` numbers them."""
    landing, product, *checkout = shape.FUNNEL
    return [
        (landing, landing),
        *((f"/category/{p}s", f"/category/{p}s") for p in shape.PRODUCTS),
        *((product.format(product=p), product) for p in shape.PRODUCTS),
        *((step, step) for step in checkout),
    ]


WEB_PATHS = _web_paths()
_CATEGORY = 1
_PRODUCT = _CATEGORY + len(shape.PRODUCTS)
_CART_PAGE = _PRODUCT + len(shape.PRODUCTS)


def _web_day(rng: np.random.Generator, crowd: People, activity: float) -> Columns:
    """The website visits of one day: one entry per event, in each visit's order."""
    active = np.flatnonzero(
        crowd.web & (rng.random(crowd.web.size) < shape.WEB_DAY_CHANCE * activity)
    )
    low, high = shape.SESSIONS_PER_DAY
    owner = np.repeat(active, rng.integers(low, high + 1, active.size))
    visits = owner.size
    arrival = rng.integers(0, len(shape.ARRIVALS), visits)
    product = rng.integers(0, len(shape.PRODUCTS), visits)
    browsed = rng.integers(shape.BROWSED_CATEGORIES[0], shape.BROWSED_CATEGORIES[1] + 1, visits)
    steps = rng.random((visits, len(shape.FUNNEL_CONTINUES))) < shape.FUNNEL_CONTINUES
    depth = np.cumprod(steps, axis=1).sum(axis=1)
    identified = crowd.mobile[owner] & (rng.random(visits) < shape.IDENTIFY_CHANCE)
    pages = 1 + browsed + depth
    page_visit = np.repeat(np.arange(visits), pages)
    number = np.arange(page_visit.size) - np.repeat(np.cumsum(pages) - pages, pages)
    step = number - browsed[page_visit]
    path = np.select(
        [number == 0, step <= 0, step == 1],
        [
            0,
            _CATEGORY + rng.integers(0, len(shape.PRODUCTS), number.size),
            _PRODUCT + product[page_visit],
        ],
        _CART_PAGE + step - 2,
    )
    referrer = np.where(number == 0, arrival[page_visit], _SITE_REFERRER)
    page = path * (_SITE_REFERRER + 1) + referrer
    clicked = rng.random(number.size) < shape.CLICK_CHANCE
    bought = np.flatnonzero(depth == len(shape.FUNNEL_CONTINUES))
    signed_in = np.flatnonzero(identified)
    last_page = (len(WEB_PATHS) - 1) * (_SITE_REFERRER + 1) + _SITE_REFERRER
    parts = [
        (page_visit, 2 * number, np.full(number.size, _PAGE), page),
        (
            page_visit[clicked],
            2 * number[clicked] + 1,
            np.full(clicked.sum(), _CLICK),
            page[clicked],
        ),
        (
            bought,
            np.full(bought.size, 10_000),
            np.full(bought.size, _WEB_PURCHASE),
            np.full(bought.size, last_page),
        ),
        (
            signed_in,
            np.full(signed_in.size, 10_001),
            np.full(signed_in.size, _IDENTIFY),
            np.zeros(signed_in.size, np.int64),
        ),
    ]
    visit, order, kind, page = (np.concatenate(column) for column in zip(*parts, strict=True))
    layout = np.lexsort((order, visit))
    visit, kind, page = visit[layout], kind[layout], page[layout]
    gaps = np.select(
        [kind == _PAGE, kind == _CLICK],
        [
            rng.integers(shape.PAGE_GAP_SECONDS[0], shape.PAGE_GAP_SECONDS[1] + 1, kind.size),
            rng.integers(shape.CLICK_GAP_SECONDS[0], shape.CLICK_GAP_SECONDS[1] + 1, kind.size),
        ],
        np.where(kind == _WEB_PURCHASE, shape.PURCHASE_AFTER_SECONDS, 1),
    )
    start = rng.integers(shape.WEB_DAY_SECONDS[0], shape.WEB_DAY_SECONDS[1] + 1, visits)
    return {
        "session": visit,
        "person": owner[visit],
        "kind": kind,
        "page": page,
        "arrival": arrival[visit],
        "identified": identified[visit],
        "second": start[visit] + _within(visit, gaps),
        "revenue": np.round(rng.uniform(*shape.REVENUE, kind.size), 2),
    }


# --- a day's quota -----------------------------------------------------------------------------


def _cut(
    rng: np.random.Generator, app: Columns, web: Columns, wanted: int
) -> tuple[Columns, Columns]:
    """Whole sessions and visits, in random order, up to `wanted` events (the last one cut short)."""
    sizes = np.concatenate([np.bincount(day["session"]) for day in (app, web)])
    if sizes.sum() <= wanted:
        return app, web
    order = rng.permutation(sizes.size)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    total = np.cumsum(sizes[order])
    last = int(np.searchsorted(total, wanted))  # the rank of the session that is cut short
    room = wanted - (int(total[last - 1]) if last else 0)
    kept = []
    for offset, day in ((0, app), (np.bincount(app["session"]).size, web)):
        session_rank = rank[day["session"] + offset]
        position = np.arange(day["session"].size) - np.searchsorted(day["session"], day["session"])
        keep = (session_rank < last) | ((session_rank == last) & (position < room))
        kept.append({name: column[keep] for name, column in day.items()})
    return kept[0], kept[1]


# --- rows in the collector's envelope ----------------------------------------------------------


def _join(*parts: Any) -> "pa.ChunkedArray":
    """The row-wise concatenation of string columns and constants.

    DuckDB's `concat` does it in one multi-threaded pass, 2 to 3 times faster than Arrow's
    `binary_join_element_wise` here, and the JSON columns are most of the generator's work.
    """
    import pyarrow as pa

    columns = {f"p{n}": part for n, part in enumerate(parts) if not isinstance(part, str)}
    pieces = ", ".join(
        "'" + part.replace("'", "''") + "'" if isinstance(part, str) else f"p{n}"
        for n, part in enumerate(parts)
    )
    connection = _duckdb()
    connection.register("pieces", pa.table(columns))
    try:
        return connection.sql(f"select concat({pieces}) from pieces").to_arrow_table().column(0)
    finally:
        connection.unregister("pieces")


@cache
def _duckdb() -> Any:
    import duckdb

    return duckdb.connect()


def _strings(values: list[str], index: np.ndarray) -> "pa.Array":
    import pyarrow as pa

    return pa.array(values, pa.string()).take(index)


def _codes(values: list[str], index: np.ndarray) -> "pa.DictionaryArray":
    """`values[index]` for `_join`, without copying the strings (DuckDB reads the codes)."""
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(pa.array(index), pa.array(values, pa.string()))


def _revenue(revenue: np.ndarray, bought: np.ndarray) -> "pa.Array":
    """The amount as JSON where the event is a purchase, else an empty string."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.if_else(pa.array(bought), pa.array(revenue).cast(pa.string()), "")


def _traits(user_id: "pa.Array") -> "pa.Array":
    return _join('{"email":"', user_id, f'@example.com","plan":{_js(shape.TRAITS_PLAN)}}}')


@dataclass(frozen=True)
class _Rows:
    """The envelope's columns of some events; `_table` completes and types them."""

    event_id: "pa.Array"
    type: "pa.Array"
    event: "pa.Array"
    user_id: "pa.Array"
    anonymous_id: "pa.Array"
    second: np.ndarray
    wire_format: str
    context: "pa.Array"
    properties: "pa.Array"
    raw: "pa.Array"


def _timestamps(midnight: datetime, second: np.ndarray) -> "pa.Array":
    import pyarrow as pa

    base = int(midnight.timestamp()) * 1_000_000
    return pa.array(base + second * 1_000_000, pa.timestamp("us", tz="UTC"))


def _iso(midnight: datetime, second: np.ndarray) -> "pa.Array":
    """The SDK's ISO 8601 `timestamp` (as `datetime.isoformat()` writes it), `second`s after
    `midnight`; digits are computed as columns, which is far faster than Arrow's strftime."""
    days, of_day = np.divmod(second, 86_400)
    first = int(days.min()) if days.size else 0
    dates = np.frombuffer(
        "".join(
            (midnight + timedelta(days=first + offset)).strftime("%Y-%m-%dT")
            for offset in range(int(days.max()) - first + 1 if days.size else 0)
        ).encode(),
        dtype=np.uint8,
    ).reshape(-1, 11)
    text = np.empty((second.size, 25), dtype=np.uint8)
    text[:, :11] = dates[days - first]
    hours, rest = np.divmod(of_day, 3_600)
    minutes, seconds = np.divmod(rest, 60)
    for at, value in ((11, hours), (14, minutes), (17, seconds)):
        text[:, at] = ord("0") + value // 10
        text[:, at + 1] = ord("0") + value % 10
    text[:, 13] = text[:, 16] = ord(":")
    text[:, 19:] = np.frombuffer(b"+00:00", dtype=np.uint8)
    return _fixed_width_strings(text)


def _app_rows(rng: np.random.Generator, crowd: People, app: Columns, midnight: datetime) -> _Rows:
    """Segment `track` and `screen` items from the app, and their envelope columns."""
    import pyarrow as pa

    index = pa.array(app["person"])
    session_ids = uuids(rng, int(app["session"].max()) + 1 if app["session"].size else 0)
    session = session_ids.take(pa.array(app["session"]))
    message = uuids(rng, app["session"].size)
    variant = app["variant"]
    user_id, device_id = crowd.user_id.take(index), crowd.device_id.take(index)
    bought = (variant >= _PURCHASE) & (variant < _CRASH)
    properties = _join(
        "{",
        _codes([v.properties_head for v in APP_VARIANTS], variant),
        _revenue(app["revenue"], bought),
        _codes([v.properties_tail for v in APP_VARIANTS], variant),
        '"session_id":"',
        session,
        '"}',
    )
    library = _js(shape.LIBRARY)
    context = _join(
        crowd.app_context.take(pa.array(app["state"])), session, f'","library":{library}}}'
    )
    raw = _join(
        _codes([v.raw_head for v in APP_VARIANTS], variant),
        ',"userId":"', user_id,
        '","anonymousId":"', device_id,
        '","messageId":"', message,
        '","timestamp":"', _iso(midnight, app["second"]),
        '","properties":', properties,
        ',"context":', context,
        "}",
    )  # fmt: skip
    return _Rows(
        event_id=message,
        type=_strings([v.type for v in APP_VARIANTS], variant),
        event=_strings([v.event for v in APP_VARIANTS], variant),
        user_id=user_id,
        anonymous_id=device_id,
        second=app["second"],
        wire_format="segment",
        context=context,
        properties=properties,
        raw=raw,
    )


@dataclass(frozen=True)
class _WebFragments:
    """JSON fragments per page (path and referrer), browser and arrival, made once."""

    segment_page: list[str]  # Segment's `context.page`, which is also its properties
    posthog_head: list[str]  # PostHog's page properties up to the user agent
    posthog_page: list[str]  # what the collector adds to its context, up to the user agent
    user_agent: list[str]
    campaign: list[str]  # `,"campaign":{...}` of the collector's context, or ""
    utm: list[str]  # `,"utm_source":...` of PostHog's properties, or ""


def _web_fragments() -> _WebFragments:
    pages = []
    for path, title in WEB_PATHS:
        for referrer in [arrival[0] for arrival in shape.ARRIVALS] + [shape.SITE + "/"]:
            pages.append((shape.SITE + path, path, referrer, title))
    campaigns, utms = [], []
    for _, source, medium, name in shape.ARRIVALS:
        sent = {"source": source, "medium": medium, "name": name} if source else {}
        campaigns.append(f',"campaign":{_js(sent)}' if sent else "")
        utm = {f"utm_{k if k != 'name' else 'campaign'}": v for k, v in sent.items()}
        utms.append("," + _js(utm)[1:-1] if utm else "")
    return _WebFragments(
        segment_page=[
            _js({"url": url, "path": path, "referrer": ref, "title": title})
            for url, path, ref, title in pages
        ],
        posthog_head=[
            _js({"$current_url": url, "$pathname": path, "$referrer": ref})[1:-1]
            + ',"$raw_user_agent":'
            for url, path, ref, _ in pages
        ],
        posthog_page=[
            f',"page":{_js({"url": url, "path": path, "referrer": ref, "title": None})},"userAgent":'
            for url, path, ref, _ in pages
        ],
        user_agent=[_js(agent) for agent in (*shape.BROWSERS, *shape.BOTS)],
        campaign=campaigns,
        utm=utms,
    )


WEB_FRAGMENTS = _web_fragments()
_PAGE_TITLES = [title for _, title in WEB_PATHS for _ in range(_SITE_REFERRER + 1)]


def _web_rows(
    rng: np.random.Generator, crowd: People, web: Columns, midnight: datetime
) -> list[_Rows]:
    """The website's items, Segment's and PostHog's, and their envelope columns."""
    import pyarrow as pa

    posthog = crowd.posthog[web["person"]]
    identify = web["kind"] == _IDENTIFY
    rows = []
    for build, chosen in (
        (_segment_rows, ~posthog & ~identify),
        (partial(_identify_rows, "segment"), ~posthog & identify),
        (_posthog_rows, posthog & ~identify),
        (partial(_identify_rows, "posthog"), posthog & identify),
    ):
        some = {name: column[chosen] for name, column in web.items()}
        index = pa.array(some["person"])
        ids = (crowd.user_id.take(index), crowd.anonymous_id.take(index))
        message = uuids(rng, int(chosen.sum()))
        at = _iso(midnight, some["second"])
        rows.append(build(crowd, some, ids, message, at))
    return rows


_Ids = tuple["pa.Array", "pa.Array"]  # the user id and the browser's anonymous id


def _segment_rows(
    crowd: People, web: Columns, ids: _Ids, message: "pa.Array", at: "pa.Array"
) -> _Rows:
    import pyarrow as pa
    import pyarrow.compute as pc

    user_id, anonymous_id = ids
    kind, page = web["kind"], web["page"]
    fragments = WEB_FRAGMENTS
    page_json = _codes(fragments.segment_page, page)
    properties = _join(
        _codes([json[:-1] for json in fragments.segment_page], page),
        _money(web["revenue"], kind == _WEB_PURCHASE, f',"currency":{_js(shape.WEB_CURRENCY)}'),
        "}",
    )
    context = _join(
        '{"page":', page_json,
        ',"userAgent":', _codes(fragments.user_agent, crowd.browser[web["person"]]),
        f',"library":{_js(shape.LIBRARY)}',
        _codes(fragments.campaign, web["arrival"]),
        "}",
    )  # fmt: skip
    titles = _strings(_PAGE_TITLES, page)
    names = pc.if_else(pa.array(kind == _PAGE), titles, _strings(["", "click", "purchase"], kind))
    head = pc.if_else(
        pa.array(kind == _PAGE),
        _join('{"type":"page","name":', _quoted(titles)),
        _join('{"type":"track","event":"', names, '"'),
    )
    signed_in = pa.array(web["identified"])
    raw = _join(
        head,
        ',"anonymousId":"', anonymous_id,
        '","messageId":"', message,
        '","timestamp":"', at,
        '","properties":', properties,
        ',"context":', context,
        pc.if_else(signed_in, _join(',"userId":"', user_id, '"'), ""),
        "}",
    )  # fmt: skip
    return _Rows(
        event_id=message,
        type=_strings(["page", "track", "track"], kind),
        event=names,
        user_id=pc.if_else(signed_in, user_id, pa.scalar(None, pa.string())),
        anonymous_id=anonymous_id,
        second=web["second"],
        wire_format="segment",
        context=context,
        properties=properties,
        raw=raw,
    )


def _posthog_rows(
    crowd: People, web: Columns, ids: _Ids, message: "pa.Array", at: "pa.Array"
) -> _Rows:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind, page = web["kind"], web["page"]
    user_id, anonymous_id = ids
    agent = _codes(WEB_FRAGMENTS.user_agent, crowd.browser[web["person"]])
    sent = _join(
        _codes(WEB_FRAGMENTS.posthog_head, page), agent, ',"$anon_distinct_id":"', anonymous_id, '"'
    )
    plain = _join(
        _codes(WEB_FRAGMENTS.utm, web["arrival"]),
        _money(web["revenue"], kind == _WEB_PURCHASE, f',"currency":{_js(shape.WEB_CURRENCY)}'),
    )
    # posthog-js sends the anonymous id as distinct_id until the visitor signs in.
    distinct_id = pc.if_else(pa.array(web["identified"]), user_id, anonymous_id)
    names = _strings(["$pageview", "click", "purchase"], kind)
    raw = _join(
        '{"event":"', names,
        '","distinct_id":"', distinct_id,
        '","properties":{', sent, plain,
        '},"timestamp":"', at,
        '","uuid":"', message,
        '"}',
    )  # fmt: skip
    context = _join(
        "{", sent,
        _codes(WEB_FRAGMENTS.posthog_page, page), agent,
        _codes(WEB_FRAGMENTS.campaign, web["arrival"]),
        "}",
    )  # fmt: skip
    return _Rows(
        event_id=message,
        type=_strings(["page", "track", "track"], kind),
        event=names,
        user_id=distinct_id,
        anonymous_id=anonymous_id,
        second=web["second"],
        wire_format="posthog",
        context=context,
        properties=_join("{", pc.utf8_slice_codeunits(plain, 1), "}"),
        raw=raw,
    )


def _identify_rows(
    wire: str, crowd: People, web: Columns, ids: _Ids, message: "pa.Array", at: "pa.Array"
) -> _Rows:
    """Identify calls that link the browser to the user: Segment's `identify`, PostHog's
    `$identify` (whose properties the collector keeps as its context)."""
    import pyarrow as pa

    user_id, anonymous_id = ids
    traits = _traits(user_id)
    sent = _join('{"$anon_distinct_id":"', anonymous_id, '","$set":', traits, "}")
    if wire == "posthog":
        raw = _join(
            '{"event":"$identify","distinct_id":"', user_id,
            '","properties":', sent,
            ',"timestamp":"', at,
            '","uuid":"', message,
            '"}',
        )  # fmt: skip
    else:
        raw = _join(
            '{"type":"identify","userId":"', user_id,
            '","anonymousId":"', anonymous_id,
            '","traits":', traits,
            ',"messageId":"', message,
            '","timestamp":"', at,
            '"}',
        )  # fmt: skip
    return _Rows(
        event_id=message,
        type=_strings(["identify"], np.zeros(len(message), np.int64)),
        event=pa.nulls(len(message), pa.string()),
        user_id=user_id,
        anonymous_id=anonymous_id,
        second=web["second"],
        wire_format=wire,
        context=sent if wire == "posthog" else pa.nulls(len(message), pa.string()),
        properties=traits,
        raw=raw,
    )


def _money(revenue: np.ndarray, bought: np.ndarray, currency: str) -> "pa.Array":
    """`,"revenue":R<currency>` on purchases, else an empty string."""
    import pyarrow as pa
    import pyarrow.compute as pc

    amount = _join(',"revenue":', pa.array(revenue).cast(pa.string()), currency)
    return pc.if_else(pa.array(bought), amount, "")


def _quoted(values: "pa.Array") -> "pa.Array":
    return _join('"', values, '"')


def _table(rows: _Rows, midnight: datetime, source_id: str) -> "pa.Table":
    """The envelope, as the collector stores a historical import: no `sentAt`, times as sent."""
    import pyarrow as pa

    from dataplatform.core.events import ENVELOPE_SCHEMA

    timestamps = _timestamps(midnight, rows.second)
    count = len(timestamps)
    return pa.table(
        {
            "event_id": rows.event_id,
            "type": rows.type,
            "event": rows.event,
            "user_id": rows.user_id,
            "anonymous_id": rows.anonymous_id,
            "timestamp": timestamps,
            "original_timestamp": timestamps,
            "sent_at": pa.nulls(count, pa.timestamp("us", tz="UTC")),
            "received_at": timestamps,
            "source_id": pa.repeat(source_id, count),
            "wire_format": pa.repeat(rows.wire_format, count),
            "context": rows.context,
            "properties": rows.properties,
            "raw": rows.raw,
        },
        schema=ENVELOPE_SCHEMA,
    )


def _late_and_twice(rng: np.random.Generator, table: "pa.Table") -> "pa.Table":
    """A share of the events received a day late, and a share sent twice (an SDK's retry)."""
    import pyarrow as pa

    count = table.num_rows
    late = rng.random(count) < shape.LATE_OR_DUPLICATE_RATE
    received = table["received_at"].combine_chunks().cast(pa.int64()).to_numpy()
    received = received + late * 86_400_000_000
    table = table.set_column(
        table.schema.get_field_index("received_at"),
        table.schema.field("received_at"),
        pa.array(received, pa.timestamp("us", tz="UTC")),
    )
    twice = rng.random(count) < shape.LATE_OR_DUPLICATE_RATE
    # The retries follow the day's rows; a filter copies only them, chunk by chunk.
    return pa.concat_tables([table, table.filter(pa.array(twice))])


def days_of_rows(volume: Volume) -> Iterator[tuple["pa.Table", "pa.Table"]]:
    """(app rows, website rows) of each day, in the collector's envelope."""
    import pyarrow as pa

    crowd = people(volume)
    activity = volume.activity * (1.0 if volume.events is None else _HEADROOM)
    for day in range(volume.days):
        midnight = volume.start + timedelta(days=day)
        wanted = volume.quota(day)
        app_tables, web_tables = [], []
        for round_number in range(_DELIVERY_STREAM):
            rng = np.random.default_rng([volume.seed, 1 + day, round_number])
            app, web = _app_day(rng, crowd, day, activity), _web_day(rng, crowd, activity)
            if wanted is not None:
                app, web = _cut(rng, app, web, wanted)
                wanted -= app["session"].size + web["session"].size
            app_tables.append(_table(_app_rows(rng, crowd, app, midnight), midnight, MOBILE_SOURCE))
            web_tables += [
                _table(rows, midnight, WEB_SOURCE) for rows in _web_rows(rng, crowd, web, midnight)
            ]
            if not wanted:  # a day with no quota, or one that met it
                break
        rng = np.random.default_rng([volume.seed, 1 + day, _DELIVERY_STREAM])
        yield (
            _late_and_twice(rng, pa.concat_tables(app_tables)),
            _late_and_twice(rng, pa.concat_tables(web_tables)),
        )


def write_columns(
    volume: Volume,
    lake: "Lakehouse",
    destinations: dict[str, str],
    *,
    batch_rows: int = BATCH_ROWS,
    on_written: Callable[[int], None] = lambda _: None,
) -> int:
    """Write the volume's traffic to the bronze tables in `destinations` (`mobile`, `web`).

    One commit per table per batch of about `batch_rows` events; returns how many were written.
    """
    import pyarrow as pa

    pending: dict[str, list[pa.Table]] = {"mobile": [], "web": []}
    written = 0

    def flush(kind: str) -> None:
        nonlocal written
        if pending[kind]:
            batch = pa.concat_tables(pending[kind])
            lake.append(destinations[kind], batch)
            written += batch.num_rows
            on_written(batch.num_rows)
            pending[kind] = []

    for app, web in days_of_rows(volume):
        for kind, rows in (("mobile", app), ("web", web)):
            pending[kind].append(rows)
            if sum(table.num_rows for table in pending[kind]) >= batch_rows:
                flush(kind)
    flush("mobile")
    flush("web")
    return written


def expected_events(volume: Volume) -> int:
    """About how many events the volume writes (for a progress bar's total)."""
    if volume.events is not None:
        return round(volume.events * (1 + shape.LATE_OR_DUPLICATE_RATE))
    total = volume.users * volume.days * _events_per_person_day()
    return round(total * (1 + shape.LATE_OR_DUPLICATE_RATE))
