"""Verifying the published copy of the audit chain (`platform.gold.audit_log`) on its own.

Each row's `hash` is the SHA-256 of its canonical JSON: the entry's fields (`actor`,
`actor_kind`, `action`, `outcome`, `method`, `route`, `status`, `table_name`, `row_count`, `pii`,
`request_id`, `detail` as an object, `recorded_at` as ISO 8601 in UTC with microseconds), its
`seq` and its `prev_hash`, with every object's keys sorted, as orjson writes them. That is the
platform's `content_hash`, written again here from its description (a product may not import the
platform); the tests hold the two to the same rows, including rows a real gateway wrote.

A row is intact when it hashes to its `hash`; the chain holds when `seq` runs 1, 2, 3 ... without
a gap and each `prev_hash` is the hash of the row before (the first row's is 64 zeros). Like the
platform's verifier this proves the copy was not edited, cut or reordered without every later
hash being recomputed; it cannot tell a copy rewritten whole, hashes and all. What it cannot see
is the database: the platform's own `/admin/audit/verify` holds the two together.
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import orjson

from dataplatform.core.bounds import as_utc

# The platform publishes its audit log under this name (as every product's tables, by
# `<product>.<layer>.<table>`); it is the platform's, not this product's, so no context names it.
AUDIT_LOG = "platform.gold.audit_log"
GENESIS_HASH = "0" * 64
ENTRY_FIELDS = (
    "actor",
    "actor_kind",
    "action",
    "outcome",
    "method",
    "route",
    "status",
    "table_name",
    "row_count",
    "pii",
    "request_id",
)
Problem = Literal["edited", "gap", "link", "start", "unreadable"]


@dataclass(frozen=True)
class ChainReport:
    """`ok`, or the first bad row (`first_bad_seq`), what is wrong with it and why."""

    ok: bool
    rows_checked: int
    last_seq: int
    last_hash: str
    message: str
    first_bad_seq: int | None = None
    problem: Problem | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def row_hash(row: Mapping[str, Any]) -> str:
    """The hash a published row must carry (see the module's description)."""
    content = {name: row[name] for name in ENTRY_FIELDS}
    content["detail"] = orjson.loads(row["detail"])
    # Published times are UTC; snapshots hand them over without their zone.
    content["recorded_at"] = as_utc(row["recorded_at"]).isoformat(timespec="microseconds")
    content["seq"] = row["seq"]
    content["prev_hash"] = row["prev_hash"]
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def verify_chain(rows: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Walk `rows` (in `seq` order) and report the first one that breaks the chain."""
    last_seq, last_hash, checked = 0, GENESIS_HASH, 0
    for row in rows:
        seq = int(row["seq"])
        problem = _problem(row, seq, last_seq, last_hash)
        if problem is not None:
            kind, message = problem
            return ChainReport(False, checked, last_seq, last_hash, message, seq, kind)
        last_seq, last_hash, checked = seq, row["hash"], checked + 1
    if checked == 0:
        return ChainReport(True, 0, 0, GENESIS_HASH, "nothing published yet: no row to verify")
    return ChainReport(
        True,
        checked,
        last_seq,
        last_hash,
        f"published audit chain intact: rows 1 to {last_seq} verified",
    )


def _problem(
    row: Mapping[str, Any], seq: int, last_seq: int, last_hash: str
) -> tuple[Problem, str] | None:
    if seq != last_seq + 1:
        if last_seq == 0:
            return "start", f"the published chain starts at row {seq}, not row 1."
        return "gap", (
            f"row {last_seq} is followed by row {seq}: "
            f"{_rows(last_seq + 1, seq - 1)} missing (deleted), or the rows were renumbered."
        )
    try:
        intact = row_hash(row) == row["hash"]
    except orjson.JSONDecodeError:
        return "unreadable", f"row {seq}'s detail is not JSON any more: it was edited."
    if not intact:
        return "edited", f"row {seq} no longer hashes to its recorded hash: it was edited."
    if row["prev_hash"] != last_hash:
        before = f"row {last_seq}'s hash" if last_seq else "the genesis hash (64 zeros)"
        return "link", (
            f"row {seq} does not point at {before}: a row before it was rewritten, hashes and "
            "all, or this one was put in another's place."
        )
    return None


def _rows(first: int, last: int) -> str:
    return f"row {first} is" if first == last else f"rows {first} to {last} are"
