"""Events as the collector stores them: the item an SDK sends, and what the collector makes of it.

`raw` is the item (Segment's `track`/`screen`/`page`/`identify` or PostHog's capture), and
`context` and `properties` are what the collector's normalisers make of it. Each is a template
of JSON fragments, made once here, and the day's columns (`_days`); `_text.render` assembles
them. A test checks the rows against `from_segment`/`from_posthog`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from dataplatform.platform.generator import _distributions as shape
from dataplatform.platform.generator._days import (
    CLICK,
    CRASH,
    DAY_SECONDS,
    IDENTIFY,
    PAGE,
    PURCHASE,
    SITE_REFERRER,
    WEB_PATHS,
    WEB_PURCHASE,
    Columns,
    People,
)
from dataplatform.platform.generator._text import Cells, Choice, Lookup, Template, render

if TYPE_CHECKING:
    import pyarrow as pa

MOBILE_SOURCE = "synthetic-mobile"
WEB_SOURCE = "synthetic-web"
# Rows rendered at once: their longest text column stays well inside one Arrow string array.
_RENDER_ROWS = 500_000
_MICROS = 1_000_000


def _js(value: Any) -> str:
    return orjson.dumps(value).decode()


_LIBRARY = f',"library":{_js(shape.LIBRARY)}'


def app_table(app: Columns, crowd: People, start: datetime) -> "pa.Table":
    """The app's events: Segment `track` and `screen` items."""
    return _in_slices(app, lambda part: _app_rows(part, crowd, start))


def web_table(web: Columns, crowd: People, start: datetime) -> "pa.Table":
    """The website's events: Segment's and PostHog's pages, tracks and identifies."""
    return _in_slices(web, lambda part: _web_rows(part, crowd, start))


def _in_slices(events: Columns, rows: Callable[[Columns], "pa.Table"]) -> "pa.Table":
    """The `rows` of the events, made a slice of them at a time."""
    import pyarrow as pa

    count = next(iter(events.values())).shape[0]
    return pa.concat_tables(
        rows({name: column[low : low + _RENDER_ROWS] for name, column in events.items()})
        for low in range(0, max(count, 1), _RENDER_ROWS)
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
    """In the order `_days` numbers them."""

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


def _app_context_heads() -> list[str]:
    """`context` up to the device id, per app version."""
    heads = []
    for version in shape.APP_VERSIONS:
        app = {"name": shape.APP_NAME, "version": version, "build": version.replace(".", "")}
        heads.append('{"app":' + _js(app) + ',"device":{"id":"')
    return heads


def _app_context_middles() -> list[str]:
    """`context` from the device id to the session id, per device (Android's, then iOS's)."""
    middles = []
    for platform, models in (("android", shape.ANDROID_DEVICES), ("ios", shape.IOS_DEVICES)):
        os = {
            "name": "iOS" if platform == "ios" else "Android",
            "version": shape.OS_VERSIONS[platform],
        }
        middles += [
            f'","model":{_js(model)},"type":"{platform}"}},"os":{_js(os)},"sessionId":"'
            for model in models
        ]
    return middles


_APP_CONTEXT_HEADS = _app_context_heads()
_APP_CONTEXT_MIDDLES = _app_context_middles()


def _app_rows(app: Columns, crowd: People, start: datetime) -> "pa.Table":
    variant, message_id = app["variant"], Cells(app["message_id"])
    # The text a session's events share is made once a session (its person, device and app
    # are the same throughout), and looked up by each event.
    session, first = _runs(app["session"])
    person, sessions = app["person"][first], first.size
    session_id, device_id = Cells(app["session_id"][first]), Cells(crowd.device_id[person])
    context: Template = [
        Choice(_APP_CONTEXT_HEADS, crowd.version[app["state"][first]]),
        device_id,
        Choice(_APP_CONTEXT_MIDDLES, crowd.device[person]),
        session_id, '"', _LIBRARY, "}",
    ]  # fmt: skip
    identified: Template = [
        ',"userId":"',
        _cells_of(crowd.user_id, person),
        '","anonymousId":"',
        device_id,
    ]
    properties_head: Template = [
        "{",
        Choice([v.properties_head for v in APP_VARIANTS], variant),
        _revenue(app["cents"], (variant >= PURCHASE) & (variant < CRASH)),
        Choice([v.properties_tail for v in APP_VARIANTS], variant),
        '"session_id":"',
    ]
    raw: Template = [
        Choice([v.raw_head for v in APP_VARIANTS], variant),
        Lookup(render(identified, sessions), session),
        '","messageId":"', message_id,
        '","timestamp":"', _iso(start, app["second"]),
        '","properties":', properties_head,
        # The properties' last field, and the context after them.
        Lookup(render([session_id, '"},"context":', context, "}"], sessions), session),
    ]  # fmt: skip
    text: dict[str, Template | None] = {
        "event_id": [message_id],
        "type": [Choice([v.type for v in APP_VARIANTS], variant)],
        "event": [Choice([v.event for v in APP_VARIANTS], variant)],
        "user_id": [_cells_of(crowd.user_id, app["person"])],
        "anonymous_id": [Cells(crowd.device_id[app["person"]])],
        "context": [Lookup(render(context, sessions), session)],
        "properties": [properties_head, Lookup(render([session_id, '"}'], sessions), session)],
        "raw": raw,
    }
    return _table(app, text, start, MOBILE_SOURCE, "segment")


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each entry's run of equal neighbours, numbered from 0, and the first entry of each run."""
    starts = np.r_[True, values[1:] != values[:-1]] if values.size else np.zeros(0, bool)
    return np.cumsum(starts) - 1, np.flatnonzero(starts)


# --- the website -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _WebFragments:
    """JSON fragments per page (path and referrer), browser and arrival, made once."""

    segment_page: list[str]  # Segment's `context.page`, which is also its properties
    posthog_head: list[str]  # PostHog's page properties up to the user agent
    posthog_page: list[str]  # what the collector adds to its context, up to the user agent
    user_agent: list[str]
    campaign: list[str]  # `,"campaign":{...}` of the collector's context, or ""
    utm: list[str]  # `"utm_source":...` of PostHog's properties, or ""


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
        utms.append(_js(utm)[1:-1] if utm else "")
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
_PAGES = len(WEB_FRAGMENTS.segment_page)
_PAGE_TITLES = [title for _, title in WEB_PATHS for _ in range(SITE_REFERRER + 1)]
_TRACKED = {CLICK: "click", WEB_PURCHASE: "purchase"}
# Segment's event name and item head per kind (page, click, purchase) and page.
_SEGMENT_NAMES = [
    _PAGE_TITLES[page] if kind == PAGE else _TRACKED[kind]
    for kind in range(IDENTIFY)
    for page in range(_PAGES)
]
_SEGMENT_HEADS = [
    f'{{"type":"page","name":"{name}"' if kind == PAGE else f'{{"type":"track","event":"{name}"'
    for kind in range(IDENTIFY)
    for name in _SEGMENT_NAMES[kind * _PAGES : (kind + 1) * _PAGES]
]
_TYPES = ["page", "track", "track"]  # by kind, identify apart
_CURRENCY = f',"currency":{_js(shape.WEB_CURRENCY)}'


def _web_rows(web: Columns, crowd: People, start: datetime) -> "pa.Table":
    """Segment's and PostHog's items, identify calls apart: each its own kind of template."""
    import pyarrow as pa

    posthog = crowd.posthog[web["person"]]
    identify = web["kind"] == IDENTIFY
    tables = []
    for rows, chosen in (
        (_segment_rows, ~posthog & ~identify),
        (_identify_rows("segment"), ~posthog & identify),
        (_posthog_rows, posthog & ~identify),
        (_identify_rows("posthog"), posthog & identify),
    ):
        some = {name: column[chosen] for name, column in web.items()}
        tables.append(rows(some, crowd, start))
    return pa.concat_tables(tables)


def _segment_rows(web: Columns, crowd: People, start: datetime) -> "pa.Table":
    kind, page, person = web["kind"], web["page"], web["person"]
    signed_in = web["identified"]
    anonymous_id, user_id = Cells(crowd.anonymous_id[person]), _cells_of(crowd.user_id, person)
    bought = kind == WEB_PURCHASE
    properties: Template = [
        Choice([json[:-1] for json in WEB_FRAGMENTS.segment_page], page),
        Choice(["", ',"revenue":'], bought), _revenue(web["cents"], bought), Choice(["", _CURRENCY], bought),
        "}",
    ]  # fmt: skip
    page_json = Choice(WEB_FRAGMENTS.segment_page, page)
    # What a visit's events share, from the user agent on, is made once a visit.
    visit, first = _runs(web["session"])
    visitor, visit_signed_in = person[first], signed_in[first]
    visit_tail: Template = [
        Choice(WEB_FRAGMENTS.user_agent, crowd.browser[visitor]),
        _LIBRARY,
        Choice(WEB_FRAGMENTS.campaign, web["arrival"][first]),
        "}",
    ]
    signed: Template = [
        Choice(["", ',"userId":"'], visit_signed_in),
        _only(_cells_of(crowd.user_id, visitor), visit_signed_in),
        Choice(["", '"'], visit_signed_in),
    ]
    named = kind * _PAGES + page
    raw: Template = [
        Choice(_SEGMENT_HEADS, named),
        ',"anonymousId":"', anonymous_id,
        '","messageId":"', Cells(web["message_id"]),
        '","timestamp":"', _iso(start, web["second"]),
        '","properties":', properties,
        ',"context":{"page":', page_json,
        ',"userAgent":', Lookup(render([visit_tail, signed, "}"], first.size), visit),
    ]  # fmt: skip
    text: dict[str, Template | None] = {
        "event_id": [Cells(web["message_id"])],
        "type": [Choice(_TYPES, kind)],
        "event": [Choice(_SEGMENT_NAMES, named)],
        "user_id": [user_id],
        "anonymous_id": [anonymous_id],
        "context": [
            '{"page":',
            page_json,
            ',"userAgent":',
            Choice(WEB_FRAGMENTS.user_agent, crowd.browser[person]),
            _LIBRARY,
            Choice(WEB_FRAGMENTS.campaign, web["arrival"]),
            "}",
        ],
        "properties": properties,
        "raw": raw,
    }
    return _table(web, text, start, WEB_SOURCE, "segment", signed_out=~signed_in)


def _posthog_rows(web: Columns, crowd: People, start: datetime) -> "pa.Table":
    kind, page, person, arrival = web["kind"], web["page"], web["person"], web["arrival"]
    anonymous_id = Cells(crowd.anonymous_id[person])
    # posthog-js sends the anonymous id as distinct_id until the visitor signs in.
    distinct_id = _either(web["identified"], _cells_of(crowd.user_id, person), anonymous_id)
    agent = Choice(WEB_FRAGMENTS.user_agent, crowd.browser[person])
    bought = kind == WEB_PURCHASE
    revenue: Template = [
        Choice(["", '"revenue":'], bought),
        _revenue(web["cents"], bought),
        Choice(["", _CURRENCY], bought),
    ]
    tagged = np.array([bool(utm) for utm in WEB_FRAGMENTS.utm])[arrival]
    utm = Choice(WEB_FRAGMENTS.utm, arrival)
    sent: Template = [
        Choice(WEB_FRAGMENTS.posthog_head, page),
        agent,
        ',"$anon_distinct_id":"',
        anonymous_id,
        '"',
    ]
    # What the page sent besides: its campaign and revenue, each after a comma.
    plain: Template = [Choice(["", ","], tagged), utm, Choice(["", ","], bought), revenue]
    names = Choice(["$pageview", "click", "purchase"], kind)
    context: Template = [
        "{", sent,
        Choice(WEB_FRAGMENTS.posthog_page, page), agent,
        Choice(WEB_FRAGMENTS.campaign, arrival),
        "}",
    ]  # fmt: skip
    raw: Template = [
        '{"event":"', names,
        '","distinct_id":"', distinct_id,
        '","properties":{', sent, plain,
        '},"timestamp":"', _iso(start, web["second"]),
        '","uuid":"', Cells(web["message_id"]),
        '"}',
    ]  # fmt: skip
    text: dict[str, Template | None] = {
        "event_id": [Cells(web["message_id"])],
        "type": [Choice(_TYPES, kind)],
        "event": [names],
        "user_id": [distinct_id],
        "anonymous_id": [anonymous_id],
        "context": context,
        "properties": ["{", utm, Choice(["", ","], tagged & bought), revenue, "}"],
        "raw": raw,
    }
    return _table(web, text, start, WEB_SOURCE, "posthog")


def _identify_rows(wire: str) -> Callable[[Columns, People, datetime], "pa.Table"]:
    """Identify calls that link the browser to the user: Segment's `identify`, PostHog's
    `$identify` (whose properties the collector keeps as its context)."""

    def rows(web: Columns, crowd: People, start: datetime) -> "pa.Table":
        person = web["person"]
        user_id, anonymous_id = _cells_of(crowd.user_id, person), Cells(crowd.anonymous_id[person])
        message_id, at = Cells(web["message_id"]), _iso(start, web["second"])
        traits: Template = [
            '{"email":"',
            user_id,
            f'@example.com","plan":{_js(shape.TRAITS_PLAN)}}}',
        ]
        sent: Template = ['{"$anon_distinct_id":"', anonymous_id, '","$set":', traits, "}"]
        raw: Template
        if wire == "posthog":
            raw = [
                '{"event":"$identify","distinct_id":"', user_id,
                '","properties":', sent,
                ',"timestamp":"', at,
                '","uuid":"', message_id,
                '"}',
            ]  # fmt: skip
        else:
            raw = [
                '{"type":"identify","userId":"', user_id,
                '","anonymousId":"', anonymous_id,
                '","traits":', traits,
                ',"messageId":"', message_id,
                '","timestamp":"', at,
                '"}',
            ]  # fmt: skip
        text: dict[str, Template | None] = {
            "event_id": [message_id],
            "type": ["identify"],
            "event": None,
            "user_id": [user_id],
            "anonymous_id": [anonymous_id],
            "context": sent if wire == "posthog" else None,
            "properties": traits,
            "raw": raw,
        }
        return _table(web, text, start, WEB_SOURCE, wire)

    return rows


# --- parts -------------------------------------------------------------------------------------


def _revenue(cents: np.ndarray, bought: np.ndarray) -> Choice:
    """The amount, as the collector's JSON, where the event is a purchase; else nothing."""
    amounts, codes = np.unique(cents[bought], return_inverse=True)
    chosen = np.zeros(cents.size, np.int64)
    chosen[bought] = codes + 1
    return Choice(["", *(_js(amount / 100) for amount in amounts.tolist())], chosen)


def _cells_of(cells: Cells, index: np.ndarray) -> Cells:
    return Cells(cells.matrix[index], None if cells.lengths is None else cells.lengths[index])


def _lengths(cells: Cells) -> np.ndarray:
    if cells.lengths is None:
        return np.full(cells.matrix.shape[0], cells.matrix.shape[1])
    return cells.lengths


def _only(cells: Cells, kept: np.ndarray) -> Cells:
    """`cells` where `kept`, else nothing."""
    return Cells(cells.matrix, np.where(kept, _lengths(cells), 0))


def _either(first: np.ndarray, when: Cells, otherwise: Cells) -> Cells:
    """`when` where `first`, else `otherwise`."""
    width = max(when.matrix.shape[1], otherwise.matrix.shape[1])
    matrix = np.zeros((first.size, width), np.uint8)
    matrix[first, : when.matrix.shape[1]] = when.matrix[first]
    matrix[~first, : otherwise.matrix.shape[1]] = otherwise.matrix[~first]
    return Cells(matrix, np.where(first, _lengths(when), _lengths(otherwise)))


def _iso(start: datetime, second: np.ndarray) -> Cells:
    """The SDK's ISO 8601 `timestamp` (as `datetime.isoformat()` writes it), `second`s after
    `start`; digits are computed as columns, which is far faster than formatting each."""
    days, of_day = np.divmod(second, DAY_SECONDS)
    first = int(days.min()) if days.size else 0
    dates = np.frombuffer(
        "".join(
            (start + timedelta(days=first + offset)).strftime("%Y-%m-%dT")
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
    return Cells(text)


# --- the envelope ------------------------------------------------------------------------------


def _table(
    events: Columns,
    text: dict[str, Template | None],
    start: datetime,
    source_id: str,
    wire_format: str,
    *,
    signed_out: np.ndarray | None = None,
) -> "pa.Table":
    """The envelope, as the collector stores a historical import: no `sentAt`, times as sent.

    `text` holds the templates of the string columns (None: all null); `signed_out` the rows
    whose `user_id` is null.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from dataplatform.core.events import ENVELOPE_SCHEMA

    count = events["second"].size
    strings = {
        name: render(template, count) for name, template in text.items() if template is not None
    }
    if signed_out is not None:
        strings["user_id"] = pc.if_else(
            pa.array(signed_out), pa.scalar(None, pa.string()), strings["user_id"]
        )
    happened = int(start.timestamp()) * _MICROS + events["second"] * _MICROS
    received = happened + events["late"] * (DAY_SECONDS * _MICROS)
    utc = pa.timestamp("us", tz="UTC")
    columns = {
        **{name: strings.get(name, pa.nulls(count, pa.string())) for name in text},
        "timestamp": pa.array(happened, utc),
        "original_timestamp": pa.array(happened, utc),
        "sent_at": pa.nulls(count, utc),
        "received_at": pa.array(received, utc),
        "source_id": pa.repeat(source_id, count),
        "wire_format": pa.repeat(wire_format, count),
    }
    return pa.table(
        {field.name: columns[field.name] for field in ENVELOPE_SCHEMA}, schema=ENVELOPE_SCHEMA
    )
