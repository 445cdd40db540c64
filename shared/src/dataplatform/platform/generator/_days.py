"""What happens, as numbers: the people, and each day's app sessions and website visits.

The same people, days and shapes as the per-event generator (`_distributions`), drawn with
numpy's seeded `Generator` a day at a time, so a seed gives the same rows however the days are
batched. A day is columns with one entry per event: numbers index the catalogues of kinds of
event and of pages, ids are UUID text as byte matrices; `_envelope` writes them as the
collector's rows.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dataplatform.platform.generator import _distributions as shape
from dataplatform.platform.generator._text import Cells
from dataplatform.platform.generator._volume import HEADROOM, Volume

Columns = dict[str, np.ndarray]
DAY_SECONDS = 86_400
_DELIVERY_STREAM = 1_000  # a day draws its rounds from streams below this, its delivery from it
_UUID_WIDTH = 36

# The app's kinds of event, numbered as `_envelope.APP_VARIANTS` lists them: app_open, a screen
# per SCREENS, a tap per TAP_TARGETS, add_to_cart per product, purchase per product and
# currency, crash, app_background.
SCREEN = 1
TAP = SCREEN + len(shape.SCREENS)
CART = TAP + len(shape.TAP_TARGETS)
PURCHASE = CART + len(shape.PRODUCTS)
CRASH = PURCHASE + len(shape.PRODUCTS) * len(shape.CURRENCIES)
BACKGROUND = CRASH + 1

# The website's kinds of event, and its pages: a page is a path and where it was reached from
# (`page = path * (SITE_REFERRER + 1) + referrer`, the referrer an index into ARRIVALS).
PAGE, CLICK, WEB_PURCHASE, IDENTIFY = range(4)
SITE_REFERRER = len(shape.ARRIVALS)  # pages after the first were reached from the site


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


# --- people ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class People:
    """Everyone's fixed traits, one entry per person."""

    user_id: Cells  # user-000042
    device_id: np.ndarray  # UUID text, one row per person
    anonymous_id: np.ndarray
    mobile: np.ndarray  # uses the app
    web: np.ndarray
    posthog: np.ndarray
    browser: np.ndarray  # index into BROWSERS + BOTS
    device: np.ndarray  # index into ANDROID_DEVICES + IOS_DEVICES
    version: np.ndarray  # index into APP_VERSIONS, per version state (2 * person + upgraded)
    crashy: np.ndarray  # per version state
    upgrade_day: np.ndarray


def people(volume: Volume) -> People:
    """The population, drawn from the seed alone."""
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
    states = np.stack([version, np.full(count, len(shape.APP_VERSIONS) - 1)], axis=1).reshape(-1)
    return People(
        user_id=numbered("user-", count),
        device_id=uuids(rng, count),
        anonymous_id=uuids(rng, count),
        mobile=mobile,
        web=web,
        posthog=rng.random(count) < shape.POSTHOG_SHARE,
        browser=browser,
        device=ios * len(shape.ANDROID_DEVICES) + device,
        version=states,
        crashy=np.array(shape.APP_VERSIONS)[states] == shape.CRASHY_VERSION,
        upgrade_day=upgrade_day,
    )


def numbered(prefix: str, count: int, digits: int = 6) -> Cells:
    """`prefix` and the numbers 0 to `count` - 1, zero-padded to `digits` (as `f"{n:06d}"`)."""
    numbers = np.arange(count)
    lengths = np.full(count, digits)
    for power in range(digits, len(str(max(count - 1, 0)))):
        lengths[numbers >= 10**power] += 1
    text = np.zeros((count, len(prefix) + int(lengths.max(initial=digits))), np.uint8)
    text[:, : len(prefix)] = np.frombuffer(prefix.encode(), np.uint8)
    for place in range(text.shape[1] - len(prefix)):
        rows = np.flatnonzero(lengths > place)
        text[rows, len(prefix) + lengths[rows] - 1 - place] = (
            ord("0") + numbers[rows] // 10**place % 10
        )
    uniform = lengths.min(initial=digits) == lengths.max(initial=digits)
    return Cells(text, None if uniform else len(prefix) + lengths)


def uuids(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` random version-4 UUIDs as text, one row of a byte matrix each."""
    raw = np.frombuffer(rng.bytes(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = _HEX_PAIRS[raw].view(np.uint8).reshape(count, 32)
    text = np.full((count, _UUID_WIDTH), ord("-"), dtype=np.uint8)
    for start, end, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        text[:, at : at + end - start] = hexed[:, start:end]
    return text


_HEX_PAIRS = np.frombuffer(
    "".join(f"{byte:02x}" for byte in range(256)).encode(), dtype=np.uint16
)  # the two hex digits of each byte value, as one 16-bit cell


# --- days --------------------------------------------------------------------------------------


def days(volume: Volume, crowd: People) -> Iterator[tuple[Columns, Columns]]:
    """(app events, website events) of each day as delivered: a share late, a share twice.

    `second` counts from the volume's start; `late` marks the events received a day late;
    `session` numbers an event's session (or website visit) apart from every other.
    """
    activity = volume.activity * (1.0 if volume.events is None else HEADROOM)
    sessions = visits = 0  # so far: each session's and visit's number is its own in the volume
    for day in range(volume.days):
        wanted = volume.quota(day)
        apps, webs = [], []
        for round_number in range(_DELIVERY_STREAM):
            rng = np.random.default_rng([volume.seed, 1 + day, round_number])
            app, web = _app_day(rng, crowd, day, activity), _web_day(rng, crowd, activity)
            if wanted is not None:
                app, web = _cut(rng, app, web, wanted)
                wanted -= app["session"].size + web["session"].size
            apps.append(_with_app_ids(rng, app, sessions))
            webs.append(_with_web_ids(rng, web, visits))
            sessions += _count(app["session"])
            visits += _count(web["session"])
            if not wanted:  # a day with no quota, or one that met it
                break
        rng = np.random.default_rng([volume.seed, 1 + day, _DELIVERY_STREAM])
        yield _delivered(rng, joined(apps), day), _delivered(rng, joined(webs), day)


def joined(parts: list[Columns]) -> Columns:
    """The rows of `parts`, one after another."""
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _with_app_ids(rng: np.random.Generator, app: Columns, sessions_before: int) -> Columns:
    """The events with their session's id and their own message id, and their session's
    number counted on from `sessions_before`."""
    session = app["session"]
    session_ids = uuids(rng, _count(session))
    ids = {"session_id": session_ids[session], "message_id": uuids(rng, session.size)}
    return {**app, "session": session + sessions_before, **ids}


def _with_web_ids(rng: np.random.Generator, web: Columns, visits_before: int) -> Columns:
    """The events with their own message id, and their visit's number counted on from
    `visits_before`."""
    ids = {"message_id": uuids(rng, web["session"].size)}
    return {**web, "session": web["session"] + visits_before, **ids}


def _count(session: np.ndarray) -> int:
    return int(session.max()) + 1 if session.size else 0


def _delivered(rng: np.random.Generator, events: Columns, day: int) -> Columns:
    """A share of the events received a day late, and a share sent twice (an SDK's retry)."""
    count = events["second"].size
    late = rng.random(count) < shape.LATE_OR_DUPLICATE_RATE
    twice = np.flatnonzero(rng.random(count) < shape.LATE_OR_DUPLICATE_RATE)
    events = {**events, "second": events["second"] + day * DAY_SECONDS, "late": late}
    # The retries follow the day's events.
    return {name: np.concatenate([column, column[twice]]) for name, column in events.items()}


# --- the app -----------------------------------------------------------------------------------


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
            SCREEN + rng.integers(0, len(shape.SCREENS), screen_session.size),
        ),
        (
            screen_session[tapped],
            2 + 2 * screen_number[tapped],
            TAP + rng.integers(0, len(shape.TAP_TARGETS), tapped.sum()),
        ),
        (every[cart], np.full(cart.sum(), 1_000), CART + product[cart]),
        (
            every[bought],
            np.full(bought.sum(), 1_001),
            PURCHASE + product[bought] * len(shape.CURRENCIES) + currency[bought],
        ),
        (every, np.full(sessions, 1_002), np.where(crashed, CRASH, BACKGROUND)),
    ]
    session, order, variant = (np.concatenate(column) for column in zip(*parts, strict=True))
    layout = np.lexsort((order, session))
    session, variant = session[layout], variant[layout]
    start = rng.integers(shape.APP_DAY_SECONDS[0], shape.APP_DAY_SECONDS[1] + 1, sessions)
    gaps = rng.integers(shape.APP_GAP_SECONDS[0], shape.APP_GAP_SECONDS[1] + 1, session.size)
    return {
        "session": session,
        "person": owner[session],
        "state": state[session],
        "variant": variant,
        "second": start[session] + _within(session, gaps),
        "cents": _cents(rng, session.size),
    }


def _within(group: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Running sum of `steps` restarting at each new value of the sorted `group`."""
    if not group.size:  # a day with no visit (or no session) at all: a handful of people
        return np.zeros(0, dtype=steps.dtype)
    total = np.cumsum(steps)
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    before = np.repeat(total[first] - steps[first], np.diff(np.r_[first, group.size]))
    running: np.ndarray = total - before
    return running


def _cents(rng: np.random.Generator, count: int) -> np.ndarray:
    """Revenue in cents, should the event be a purchase."""
    cents: np.ndarray = np.rint(rng.uniform(*shape.REVENUE, count) * 100).astype(np.int64)
    return cents


# --- the website -------------------------------------------------------------------------------


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
    referrer = np.where(number == 0, arrival[page_visit], SITE_REFERRER)
    page = path * (SITE_REFERRER + 1) + referrer
    clicked = rng.random(number.size) < shape.CLICK_CHANCE
    bought = np.flatnonzero(depth == len(shape.FUNNEL_CONTINUES))
    signed_in = np.flatnonzero(identified)
    last_page = (len(WEB_PATHS) - 1) * (SITE_REFERRER + 1) + SITE_REFERRER
    parts = [
        (page_visit, 2 * number, np.full(number.size, PAGE), page),
        (
            page_visit[clicked],
            2 * number[clicked] + 1,
            np.full(clicked.sum(), CLICK),
            page[clicked],
        ),
        (
            bought,
            np.full(bought.size, 10_000),
            np.full(bought.size, WEB_PURCHASE),
            np.full(bought.size, last_page),
        ),
        (
            signed_in,
            np.full(signed_in.size, 10_001),
            np.full(signed_in.size, IDENTIFY),
            np.zeros(signed_in.size, np.int64),
        ),
    ]
    visit, order, kind, page = (np.concatenate(column) for column in zip(*parts, strict=True))
    layout = np.lexsort((order, visit))
    visit, kind, page = visit[layout], kind[layout], page[layout]
    gaps = np.select(
        [kind == PAGE, kind == CLICK],
        [
            rng.integers(shape.PAGE_GAP_SECONDS[0], shape.PAGE_GAP_SECONDS[1] + 1, kind.size),
            rng.integers(shape.CLICK_GAP_SECONDS[0], shape.CLICK_GAP_SECONDS[1] + 1, kind.size),
        ],
        np.where(kind == WEB_PURCHASE, shape.PURCHASE_AFTER_SECONDS, 1),
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
        "cents": _cents(rng, kind.size),
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
