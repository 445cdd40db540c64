"""A seeded generator of hostile collector requests: every item carries a tag (`fz<n>t`) at the
front of its JSON, so that bronze and quarantine rows can be traced back to the request that sent
them, even when the collector clipped or cut the item's raw."""

import gzip
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

TAG = re.compile(r"fz\d+t")
SEGMENT_SINGLE = ("track", "identify", "page", "screen", "alias", "group")
WRONG_VALUES: list[Any] = [123, -1.5e308, 2**70, True, None, [], {}, "", [1, "a"], {"a": {"b": 1}}]
BAD_TIMESTAMPS: list[Any] = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "1999-12-31T23:59:59Z",
    "2999-01-01T00:00:00Z",
    "yesterday",
    "2026-13-45T99:99:99Z",
    "2026-02-30T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "",
    1e20,
    -1,
]
FAR_SENT_AT = ["9999-12-30T00:00:00Z", "0001-01-01T00:00:00Z", "1966-11-20T12:00:00Z"]
UNICODE = [
    "😀🚀",
    "مرحبا",
    "\u0000nul",
    "e\u0301",
    "\ufeffbom",
    "\U0001d518\U0001d52b\U0001d526",
    "a" * 300,
    "\u202eevil",
]


@dataclass
class Item:
    """One item sent: its tag, the `messageId`/`uuid` it carries as a string (if any), its index
    in a batch (None on a single-event path)."""

    tag: str
    message_id: str | None
    index: int | None


@dataclass
class FuzzRequest:
    """What to send, and the items in it."""

    category: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    items: list[Item] = field(default_factory=list)


class Generator:
    """Requests of every hostile category, all from one seed; `now` is the collector's clock."""

    def __init__(self, seed: int, now: datetime, ios_key: str, web_key: str) -> None:
        self.rng = random.Random(seed)
        self.now, self.ios_key, self.web_key = now, ios_key, web_key
        self.count = 0

    def requests(self, number: int) -> list[FuzzRequest]:
        makers = [
            self.segment_batch,
            self.segment_batch,
            self.segment_single,
            self.posthog_batch,
            self.posthog_capture,
            self.posthog_list,
            self.gzip_members,
            self.broken_body,
            self.bad_key,
        ]
        return [makers[n % len(makers)]() for n in range(number)]

    # --- items ----------------------------------------------------------------------------------

    def _tag(self) -> str:
        self.count += 1
        return f"fz{self.count}t"

    def _good_time(self) -> str:
        moment = self.now - timedelta(seconds=self.rng.randint(0, 5 * 86400))
        return moment.isoformat().replace("+00:00", "Z")

    def _hostile(self, item: dict[str, Any], fields: list[str]) -> tuple[str, Any]:
        """Spoil `item` one way; returns the category and the item (a non-object, possibly)."""
        kind = self.rng.choice(
            [
                *("good", "good", "timestamp", "sent_at", "deep", "huge", "wrong_type", "unicode"),
                "missing_id",
                "missing_user",
                "not_an_object",
            ]
        )
        if kind == "timestamp":
            item["timestamp"] = self.rng.choice(BAD_TIMESTAMPS)
        elif kind == "sent_at":
            item["timestamp"] = "0001-01-02T00:00:00Z"
            item["sentAt" if "userId" in item else "sent_at"] = self.rng.choice(FAR_SENT_AT)
        elif kind == "deep":
            item["properties"] = f"DEEP{self.rng.choice([40, 63, 64, 65, 300, 3000])}"
        elif kind == "huge":
            item["properties"] = {"blob": "x" * self.rng.randint(30_000, 60_000)}
        elif kind == "wrong_type":
            item[self.rng.choice(fields)] = self.rng.choice(WRONG_VALUES)
        elif kind == "unicode":
            item[self.rng.choice(fields[:3])] = self.rng.choice(UNICODE)
        elif kind == "missing_id":
            item.pop("messageId", None)
            item.pop("uuid", None)
        elif kind == "missing_user":
            for name in ("userId", "anonymousId", "distinct_id"):
                item.pop(name, None)
        elif kind == "not_an_object":
            return kind, self.rng.choice([item["fz"], [item["fz"], 1], f"{item['fz']} text"])
        return kind, item

    def _segment_item(self, kind: str | None = None) -> dict[str, Any]:
        tag = self._tag()
        kind = kind or self.rng.choice(SEGMENT_SINGLE)
        item: dict[str, Any] = {"fz": tag, "type": kind, "messageId": f"m-{tag}"}
        item["userId" if self.rng.random() < 0.7 else "anonymousId"] = f"u{self.rng.randint(1, 50)}"
        item.update({"event": "tap", "timestamp": self._good_time()})
        item.update({"properties": {"n": self.rng.randint(0, 9)}, "context": {"app": {"v": "1"}}})
        if kind == "alias":
            item["previousId"] = "old"
        if kind == "group":
            item["groupId"] = "g1"
        return item

    def _posthog_item(self) -> dict[str, Any]:
        tag = self._tag()
        return {
            "fz": tag,
            "event": self.rng.choice(["$pageview", "$screen", "$identify", "click", "$set"]),
            "distinct_id": f"d{self.rng.randint(1, 50)}",
            "uuid": f"m-{tag}",
            "timestamp": self._good_time(),
            "properties": {"$current_url": "https://shop.test/", "n": 1},
        }

    def _spoilt(self, maker: Any, fields: list[str]) -> tuple[str, Any]:
        return self._hostile(maker(), fields)

    @staticmethod
    def _item(value: Any, index: int | None) -> Item:
        if isinstance(value, dict):
            message_id = value.get("messageId", value.get("uuid"))
            return Item(value["fz"], message_id if isinstance(message_id, str) else None, index)
        return Item(TAG.search(json.dumps(value)).group(), None, index)  # type: ignore[union-attr]

    # --- requests -------------------------------------------------------------------------------

    def _batch(self, maker: Any, fields: list[str]) -> tuple[list[Any], list[Item]]:
        values = [self._spoilt(maker, fields)[1] for _ in range(self.rng.randint(1, 12))]
        return values, [self._item(value, index) for index, value in enumerate(values)]

    def segment_batch(self) -> FuzzRequest:
        values, items = self._batch(self._segment_item, SEGMENT_FIELDS)
        body = encode({"batch": values, "sentAt": self._good_time()})
        return FuzzRequest("segment batch", "/v1/batch", body, auth=(self.ios_key, ""), items=items)

    def segment_single(self) -> FuzzRequest:
        kind = self.rng.choice(SEGMENT_SINGLE)
        category, value = self._spoilt(lambda: self._segment_item(kind), SEGMENT_FIELDS)
        return FuzzRequest(
            f"segment {kind} ({category})",
            f"/v1/{kind}",
            encode(value),
            auth=(self.ios_key, ""),
            items=[self._item(value, None)],
        )

    def posthog_batch(self) -> FuzzRequest:
        values, items = self._batch(self._posthog_item, POSTHOG_FIELDS)
        body = encode({"api_key": self.web_key, "batch": values})
        return FuzzRequest("posthog batch", "/batch", body, items=items)

    def posthog_capture(self) -> FuzzRequest:
        category, value = self._spoilt(self._posthog_item, POSTHOG_FIELDS)
        if isinstance(value, dict):
            value = {"api_key": self.web_key, **value}
        return FuzzRequest(
            f"posthog capture ({category})",
            "/capture/",
            encode(value),
            items=[self._item(value, None)],
        )

    def posthog_list(self) -> FuzzRequest:
        values, items = self._batch(self._posthog_item, POSTHOG_FIELDS)
        for value in values:
            if isinstance(value, dict) and isinstance(value.get("properties"), dict):
                value["properties"]["token"] = self.web_key
        return FuzzRequest("posthog /e/ list", "/e/", encode(values), items=items)

    def gzip_members(self) -> FuzzRequest:
        """A good batch in one to three gzip members, sometimes with bytes after them."""
        values, items = self._batch(self._segment_item, SEGMENT_FIELDS)
        body = encode({"batch": values})
        cuts = sorted(self.rng.sample(range(1, len(body)), self.rng.randint(0, 2)))
        parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        compressed = b"".join(gzip.compress(part) for part in parts)
        category = f"gzip, {len(parts)} member(s)"
        if self.rng.random() < 0.3:
            compressed += b"trailing garbage"
            category += " + trailing garbage"
        return FuzzRequest(
            category,
            "/v1/batch",
            compressed,
            headers={"Content-Encoding": "gzip"},
            auth=(self.ios_key, ""),
            items=items,
        )

    def broken_body(self) -> FuzzRequest:
        """A body refused whole: bad gzip, invalid JSON or UTF-8, wrong shape, over a limit."""
        values, items = self._batch(self._segment_item, SEGMENT_FIELDS)
        good = encode({"batch": values})
        choices = {
            "bad gzip": (
                gzip.compress(good)[: self.rng.randint(1, 30)],
                {"Content-Encoding": "gzip"},
            ),
            "gzip magic, not gzip": (b"\x1f\x8b" + good, {}),
            "truncated JSON": (good[: self.rng.randint(0, len(good) - 1)], {}),
            "invalid UTF-8": (good.replace(b"tap", b"t\xff\xfep", 1), {}),
            "lone surrogate": (good.replace(b"tap", b"\\ud800", 1), {}),
            "wrong shape": (encode({"batch": {"not": "a list"}, "fz": values}), {}),
            "too many events": (encode({"batch": values * (2600 // len(values) + 1)}), {}),
            "over max_body_bytes": (encode({"batch": values, "pad": "x" * 600_000}), {}),
        }
        category = self.rng.choice(sorted(choices))
        body, headers = choices[category]
        request = FuzzRequest(category, "/v1/batch", body, headers, (self.ios_key, ""), items)
        return request

    def bad_key(self) -> FuzzRequest:
        values, items = self._batch(self._segment_item, SEGMENT_FIELDS)
        key = self.rng.choice(["", "wk_" + uuid.UUID(int=self.rng.getrandbits(128)).hex, "é" * 5])
        auth = (key, "") if key and self.rng.random() < 0.7 else None
        body = {"batch": values} if auth else {"batch": values, "writeKey": key}
        return FuzzRequest("bad write key", "/v1/batch", encode(body), auth=auth, items=items)


SEGMENT_FIELDS = [
    *("event", "userId", "anonymousId", "type", "messageId", "timestamp", "sentAt"),
    "context",
    "properties",
    "traits",
    "previousId",
    "groupId",
    "integrations",
]
POSTHOG_FIELDS = ["event", "distinct_id", "uuid", "timestamp", "sent_at", "properties", "$set"]


def encode(value: Any) -> bytes:
    """`value` as JSON, with each `"DEEP<n>"` replaced by `n` nested lists (written as text:
    Python's encoder gives up long before the collector's reader does)."""
    text = json.dumps(value, ensure_ascii=False).encode()
    return re.sub(rb'"DEEP(\d+)"', lambda m: b"[" * int(m[1]) + b"]" * int(m[1]), text)
