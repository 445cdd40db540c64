"""Verifying the audit chain: is every row still the one that was appended, in its place?

`verify` walks the rows in sequence order, a chunk at a time, and checks that each row's content
still hashes to its stored hash (so it was not edited), that its `prev_hash` is the hash of the
row before it (so nothing was deleted, inserted or moved between them), that the sequence has no
gap, and that the chain reaches the head row with the head's hash (so the tail was not cut off).
When a lake is given, it also checks the copy published to `platform.gold.audit_log`: the copy
must still be there and reach the published head the metadata store recorded, the chain must
still reach the published head (a shorter chain was truncated, head moved back or deleted), and
the rows already published must still hash the same in the database.

Every inconsistency is a finding, never an exception: a missing head, a missing or cut-back
published copy and the first break of the chain are reported together. The walk stops at the
first break: past it, every row's link depends on the damage, so later findings would repeat it.

What this proves: nobody changed, removed, reordered or truncated rows with ordinary SQL without
also recomputing every hash after the change *and* the head. What it cannot prove on its own:
the hashes are not secret, so someone with write access to the database can rewrite the chain
from the row they change onwards, hashes and head included, or append forged rows with correct
hashes, and the database alone still verifies. The published Delta copy is what catches that
for every row already published (a rewrite changes the hash of every later row, so it no longer
matches the copy); rows newer than the last publication (at most a minute old while the platform
jobs run) have only the chain to vouch for them, and whoever can rewrite both the database and
the lake can rewrite history.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
import pyarrow as pa
from deltalake.exceptions import DeltaError
from sqlalchemy import String, func, select, type_coerce

from dataplatform.core.bounds import as_utc
from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.audit._chain import (
    GENESIS_HASH,
    AuditEntry,
    AuditLog,
    AuditRecord,
    content_hash,
)
from dataplatform.platform.audit._publish import AUDIT_TABLE, published_hash, published_seq

# edited: a row no longer hashes to its hash, or was re-hashed (the next row's link breaks);
# deleted: a gap, or later rows renumbered over it; reordered: a row sits at another's place;
# inserted: a row never appended sits in the chain; truncated: the chain stops before the head
# (or before the published head); head: the head and the last row disagree, or rows lie past the
# head; missing_head: the head row is gone; missing_copy: the published copy is gone, cut back
# below the published head, or unreadable; rewritten: a published row no longer matches the
# database.
ProblemKind = Literal[
    "edited",
    "deleted",
    "reordered",
    "inserted",
    "truncated",
    "head",
    "missing_head",
    "missing_copy",
    "rewritten",
]
CHUNK_ROWS = 1000
# How far from its place a renumbered row is looked for when its predecessor is gone; one
# displaced further is reported as edited, at the same row.
_DISPLACEMENT_SEARCH = 1000
# What reading a damaged lake copy raises (a deleted data file, a broken log).
_UNREADABLE = (DeltaError, OSError, pa.ArrowException)


@dataclass(frozen=True)
class Finding:
    """One inconsistency: its kind, the first row it concerns (None for no row), what is wrong."""

    seq: int | None
    kind: ProblemKind
    message: str


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `verify`: `ok`, or every finding; `message`, `first_bad_seq` and `problem`
    describe the first of them."""

    ok: bool
    rows_checked: int
    head_seq: int
    message: str
    first_bad_seq: int | None = None
    problem: ProblemKind | None = None
    published_seq: int | None = None
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class _Link:
    """The last row that checked out: where the next one must start from."""

    seq: int
    hash: str


def verify(
    store: MetadataStore, lake: Lakehouse | None = None, chunk_rows: int = CHUNK_ROWS
) -> VerifyReport:
    """Walk the chain from row 1 to the head; with `lake`, compare it with the published copy."""
    head = AuditLog(store).find_head()
    # Without its head the chain is walked to its highest row, so the rest is still checked.
    end = head[0] if head is not None else _highest_seq(store)
    last, checked, broken = _walk(store, end, chunk_rows)
    findings = [] if broken is None else [broken]
    if head is None:
        findings.insert(0, _missing_head(last if broken is None else None))
    elif broken is None and (head_problem := _check_head(store, last, *head)) is not None:
        findings.append(head_problem)
    published = None
    if lake is not None:
        published, copy_findings = _check_published(store, lake, last.seq)
        findings.extend(copy_findings)
    return _report(findings, checked, end, published)


def _walk(store: MetadataStore, end: int, chunk_rows: int) -> tuple[_Link, int, Finding | None]:
    """(the last row that checked out, rows checked, the first break or None)."""
    checked = 0
    last = _Link(0, GENESIS_HASH)
    while last.seq < end:
        chunk = _stored_rows(store, last.seq, end, chunk_rows)
        if not chunk:
            break
        for row in chunk:
            problem = _check_row(store, row, last)
            if problem is not None:
                return last, checked, problem
            last = _Link(row["seq"], row["hash"])
            checked += 1
    return last, checked, None


def _report(
    findings: list[Finding], checked: int, head_seq: int, published: int | None
) -> VerifyReport:
    if not findings:
        agreed = f"; the published copy agrees up to row {published}" if published else ""
        return VerifyReport(
            True,
            checked,
            head_seq,
            f"audit chain intact: {checked} rows verified, head at row {head_seq}{agreed}",
            published_seq=published,
        )
    first = findings[0]
    return VerifyReport(
        False, checked, head_seq, first.message, first.seq, first.kind, published, findings
    )


def _missing_head(end: _Link | None) -> Finding:
    """The head row is gone; `end` is where the intact rows end, None when they are broken."""
    repair = (
        "resolve the other findings first, then restore it at the chain's last row"
        if end is None
        else f"the rows end intact at row {end.seq}; if nothing else is reported, restore it with "
        f"`insert into audit_chain_head (id, seq, hash) values (1, {end.seq}, '{end.hash}')`"
    )
    return Finding(
        None,
        "missing_head",
        "the chain's head row (`audit_chain_head` id 1) is missing, so nothing can be appended "
        f"and a cut-off tail cannot be told from the head: {repair} (or restore the metadata "
        "store from a backup).",
    )


def _check_row(store: MetadataStore, row: dict[str, Any], last: _Link) -> Finding | None:
    seq = row["seq"]
    expected = last.seq + 1
    if seq != expected:
        goes = (
            f"goes from row {last.seq} straight to row {seq}"
            if last.seq
            else f"starts at row {seq}"
        )
        return Finding(
            expected, "deleted", f"{_rows(expected, seq - 1, 'missing')}: the chain {goes}."
        )
    entry = _entry(row)
    intact = entry is not None and content_hash(seq, entry, row["prev_hash"]) == row["hash"]
    if intact and row["prev_hash"] == last.hash:
        return None
    if intact and last.seq == 0:
        return Finding(
            seq,
            "edited",
            f"row {seq} starts the chain but points at a previous hash "
            f"{_short(row['prev_hash'])}: it was rewritten, hashes and all.",
        )
    if intact:
        return Finding(
            last.seq,
            "edited",
            f"row {seq} was chained to a row {last.seq} hashing to {_short(row['prev_hash'])}, "
            f"but row {last.seq} now hashes to {_short(last.hash)}: row {last.seq} was rewritten "
            "and its hash recomputed.",
        )
    origin = _origin(store, row, entry) if entry is not None else None
    if origin is None:
        return Finding(
            seq,
            "edited",
            f"row {seq}'s content no longer matches its hash: it was edited after it was appended.",
        )
    appended_as, predecessor_present = origin
    moved = f"row {seq} holds the entry appended as row {appended_as}"
    if appended_as < seq:
        return Finding(
            appended_as,
            "inserted",
            f"{moved}: {seq - appended_as} row(s) were inserted from row {appended_as} on and "
            "the later rows renumbered.",
        )
    if not predecessor_present:
        return Finding(
            seq,
            "deleted",
            f"{moved}: {appended_as - seq} row(s) before it were deleted and the later rows "
            "renumbered.",
        )
    return Finding(seq, "reordered", f"{moved}: rows were moved out of their order.")


def _origin(
    store: MetadataStore, row: dict[str, Any], entry: AuditEntry
) -> tuple[int, bool] | None:
    """(the seq the row was appended at, whether its predecessor is still stored), or None when
    its content hashes right at no other place nearby (it was edited)."""
    prev_hash, digest, seq = row["prev_hash"], row["hash"], row["seq"]
    predecessor = 0 if prev_hash == GENESIS_HASH else _seq_with_hash(store, prev_hash)
    if predecessor is not None and content_hash(predecessor + 1, entry, prev_hash) == digest:
        return predecessor + 1, True
    for candidate in range(max(1, seq - _DISPLACEMENT_SEARCH), seq + _DISPLACEMENT_SEARCH):
        if candidate != seq and content_hash(candidate, entry, prev_hash) == digest:
            # A predecessor found but moved too (two rows swapped) leaves the place unknown.
            return candidate, predecessor is not None
    return None


def _check_head(store: MetadataStore, last: _Link, head_seq: int, head_hash: str) -> Finding | None:
    if last.seq < head_seq:
        return Finding(
            last.seq + 1,
            "truncated",
            f"the head says the chain reaches row {head_seq}, but it ends at row {last.seq}: "
            f"{_rows(last.seq + 1, head_seq, 'deleted')}.",
        )
    if last.hash != head_hash:
        return Finding(
            head_seq,
            "head",
            f"the head records row {head_seq} with hash {_short(head_hash)}, but row {head_seq} "
            f"hashes to {_short(last.hash)}: the head or that row was rewritten.",
        )
    # The highest row is read before the head: an append commits its rows and the head
    # together, so a row above a head read after it was never appended through the chain's lock.
    highest = _highest_seq(store)
    head_now = _chain_end(store)
    if highest > head_now:
        return Finding(
            head_now + 1,
            "head",
            f"row {head_now + 1} lies past the head (row {head_now}): rows were added without "
            "the chain's lock, or the head was moved back.",
        )
    return None


def _check_published(
    store: MetadataStore, lake: Lakehouse, verified_to: int
) -> tuple[int | None, list[Finding]]:
    """The published head, and what is wrong between the chain and its published copy;
    rows are compared with the copy up to `verified_to`, the last row the walk checked."""
    # The store's record first: publishers commit to the lake before recording, so a record
    # read now never runs ahead of the lake read after it.
    recorded = AuditLog(store).published_head()
    recorded_seq = recorded[0] if recorded is not None else 0
    try:
        held = published_seq(lake) or 0
        findings = _check_copy(store, lake, recorded, held, verified_to)
    except _UNREADABLE as exc:
        findings = [
            Finding(
                None,
                "missing_copy",
                f"`{AUDIT_TABLE}` cannot be read ({type(exc).__name__}: {exc}): the published "
                "copy was damaged; restore it from a backup.",
            )
        ]
        held = 0
    published = max(held, recorded_seq)
    if not published:
        return None, findings
    chain_end = _chain_end(store)
    if published > chain_end:
        findings.insert(
            0,
            Finding(
                chain_end + 1,
                "truncated",
                f"the published copy holds rows up to {published}, but the chain ends at row "
                f"{chain_end}: {_rows(chain_end + 1, published, 'deleted')} and the head moved "
                "back (or deleted).",
            ),
        )
    return published, findings


def _check_copy(
    store: MetadataStore,
    lake: Lakehouse,
    recorded: tuple[int, str] | None,
    held: int,
    verified_to: int,
) -> list[Finding]:
    """Is the copy still there, up to the published head, and do its rows match the chain's?"""
    findings = []
    if recorded is not None and held < recorded[0]:
        holds = f"holds rows up to {held} only" if held else "is gone"
        findings.append(
            Finding(
                held + 1,
                "missing_copy",
                f"`{AUDIT_TABLE}` {holds}, but the chain was published to it up to row "
                f"{recorded[0]}: the published copy was deleted or cut back. Restore it from a "
                "backup; publishing refuses to start again until then.",
            )
        )
        stored = _stored_hash(store, recorded[0])
        if stored is not None and stored != recorded[1]:
            findings.append(
                Finding(
                    recorded[0],
                    "rewritten",
                    f"row {recorded[0]} was published with hash {_short(recorded[1])} but "
                    f"hashes to {_short(stored)} here: the chain was rewritten since.",
                )
            )
    # Past the rows the walk checked, a difference only repeats what the walk reported (or
    # concerns rows appended since it started).
    compared = min(held, verified_to)
    if compared and _stored_hash(store, compared) != published_hash(lake, compared):
        findings.append(_rewritten(store, lake, _first_difference(store, lake, compared)))
    return findings


def _rewritten(store: MetadataStore, lake: Lakehouse, seq: int) -> Finding:
    here, there = _stored_hash(store, seq), published_hash(lake, seq)
    if here is None or there is None:
        missing = "the chain" if here is None else "the published copy"
        return Finding(
            seq,
            "rewritten",
            f"row {seq} differs from its published copy: {missing} no longer holds it (the "
            f"chain or the copy was cut or rewritten from row {seq} on).",
        )
    return Finding(
        seq,
        "rewritten",
        f"row {seq} differs from its published copy (hash {_short(here)} here, "
        f"{_short(there)} published): the chain was rewritten from row {seq} on, hashes and "
        "head included (or the published copy was).",
    )


def _first_difference(store: MetadataStore, lake: Lakehouse, differing: int) -> int:
    """The first row whose hash differs from the published one: after a rewrite every later
    hash differs too, so the rows that agree form a prefix, found by bisection."""
    low, high = 1, differing
    while low < high:
        middle = (low + high) // 2
        if _stored_hash(store, middle) == published_hash(lake, middle):
            low = middle + 1
        else:
            high = middle
    return low


def _stored_rows(store: MetadataStore, after: int, up_to: int, limit: int) -> list[dict[str, Any]]:
    """Rows after `after` up to `up_to`, as stored; the time comes as stored too, so a value
    edited into something that is no time is reported instead of failing the walk."""
    with store.session() as session:
        result = session.execute(
            select(
                AuditRecord.seq,
                type_coerce(AuditRecord.recorded_at, String).label("recorded_at"),
                AuditRecord.actor,
                AuditRecord.actor_kind,
                AuditRecord.action,
                AuditRecord.outcome,
                AuditRecord.method,
                AuditRecord.route,
                AuditRecord.status,
                AuditRecord.table_name,
                AuditRecord.row_count,
                AuditRecord.pii,
                AuditRecord.request_id,
                AuditRecord.detail,
                AuditRecord.prev_hash,
                AuditRecord.hash,
            )
            .where(AuditRecord.seq > after, AuditRecord.seq <= up_to)
            .order_by(AuditRecord.seq)
            .limit(limit)
        )
        return [dict(row._mapping) for row in result]


def _entry(row: dict[str, Any]) -> AuditEntry | None:
    """The entry a stored row holds, or None when a value no longer parses (it was edited)."""
    try:
        recorded_at = row["recorded_at"]
        if not isinstance(recorded_at, datetime):
            recorded_at = datetime.fromisoformat(str(recorded_at))
        detail = orjson.loads(row["detail"])
    except (ValueError, TypeError):
        return None
    if not isinstance(detail, dict):
        return None
    return AuditEntry(
        actor=row["actor"],
        actor_kind=row["actor_kind"],
        action=row["action"],
        outcome=row["outcome"],
        method=row["method"],
        route=row["route"],
        status=row["status"],
        table_name=row["table_name"],
        row_count=row["row_count"],
        pii=row["pii"],
        request_id=row["request_id"],
        detail=detail,
        recorded_at=as_utc(recorded_at),
    )


def _seq_with_hash(store: MetadataStore, digest: str) -> int | None:
    with store.session() as session:
        return session.scalars(
            select(AuditRecord.seq).where(AuditRecord.hash == digest).limit(1)
        ).first()


def _stored_hash(store: MetadataStore, seq: int) -> str | None:
    with store.session() as session:
        return session.scalars(select(AuditRecord.hash).where(AuditRecord.seq == seq)).first()


def _highest_seq(store: MetadataStore) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.max(AuditRecord.seq))) or 0)


def _chain_end(store: MetadataStore) -> int:
    """The head's row now, or the highest stored row when the head row is gone."""
    head = AuditLog(store).find_head()
    return head[0] if head is not None else _highest_seq(store)


def _rows(first: int, last: int, what: str) -> str:
    """`row 5 is missing`, `rows 5-6 were deleted`."""
    if first == last:
        return f"row {first} {'is' if what == 'missing' else 'was'} {what}"
    return f"rows {first}-{last} {'are' if what == 'missing' else 'were'} {what}"


def _short(digest: str) -> str:
    return f"{digest[:12]}…"
