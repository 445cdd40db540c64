"""Every compliance table, tick by tick: any split of a realistic audit log into publications
(entries chained after later ones, keys idle around dormant_key_days, users reading far above
their baseline, lineage recorded anew) ends in the rows a full rebuild (`--full-refresh`) gives
over the same log; and rows an input loses (to retention) leave the verdicts a rebuild over
what is left gives. Settings as configured: a 28-day baseline, 10 times it flagged after 7 days
of history, keys dormant after 30 idle days."""

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.platform.audit import LINEAGE_SCHEMA, LINEAGE_TABLE

TABLES = [
    "silver.data_reads",
    "silver.key_activity",
    "gold.column_reads",
    "gold.pii_reads",
    "gold.daily_access",
    "gold.access_anomalies",
    "gold.dormant_key_uses",
    "gold.lineage_current",
]
REPORTS = TABLES[:-1]  # without the lineage, which the cases below do not publish
CASES = 5
START = date(2026, 8, 1)
DAYS = 90
PAGES = "web_user_analytics.gold.pages"
SUMMARY = "mobile_user_analytics.gold.user_summary"


def surely_flagged(kit: Any) -> list[Any]:
    """ivy reads 1000 rows on day 20, after at most 30 a day since day 0; key etl is used 45
    days after its creation. Kept in time order, so every case flags a day and a key."""
    return [
        kit.read("ivy", START + timedelta(days=20), PAGES, ["day"], 1000, ["viewer"]),
        kit.key_created("etl", START),
        kit.read(
            "key:etl", START + timedelta(days=45), SUMMARY, ["user_id"], 3, ["viewer"],
            kind="api_key",
        ),
    ]  # fmt: skip


def user_reads(rng: random.Random, kit: Any) -> list[Any]:
    """Three to four users reading most days from their first day on (ivy from day 0), on two
    days after day 20 at 12 or 40 times their usual volume."""
    entries = []
    for person in range(rng.randint(3, 4)):
        actor = "ivy" if person == 0 else f"user{person}"
        first = 0 if person == 0 else rng.randrange(60)
        spikes = set(rng.sample(range(max(first, 21), DAYS), 2))
        for number in range(first, DAYS):
            if number not in spikes and rng.random() < 0.3:
                continue  # a day without reads: a zero in the baselines after it
            rows = rng.randint(5, 15) * (rng.choice([12, 40]) if number in spikes else 1)
            for _ in range(rng.choice([1, 1, 2])):
                pii = rng.random() < 0.2
                entries.append(
                    kit.read(
                        actor,
                        START + timedelta(days=number),
                        rng.choice([PAGES, SUMMARY]),
                        rng.choice([["day", "views"], ["user_id", "events"], []]),
                        rows,
                        ["pii-reader", "viewer"] if pii else ["viewer"],
                        pii=pii,
                        hour=rng.randrange(24),
                    )
                )
    return entries


def key_uses(rng: random.Random, kit: Any) -> list[Any]:
    """Keys created (or not on record) and used after idle stretches on both sides of 30 days,
    for reads and for other actions."""
    entries = []
    for name, day in (("etl", 45), ("bi", rng.randrange(10)), ("old", rng.randrange(10))):
        if name == "bi":  # etl's creation is in surely_flagged; old's predates the audit log
            entries.append(kit.key_created(name, START + timedelta(days=day)))
        for gap in rng.choices([1, 10, 29, 30, 31, 45], k=rng.randint(1, 3)):
            day += gap
            if day >= DAYS:
                break
            # 09:00 is the creation's hour: 30 days after it is exactly the threshold.
            use = kit.read(
                f"key:{name}", START + timedelta(days=day), SUMMARY, ["user_id"], 3, ["viewer"],
                kind="api_key", hour=rng.choice([8, 9, 10]),
            )  # fmt: skip
            if rng.random() < 0.3:
                use = kit.replace(
                    use, action="catalog.read", table_name=None, row_count=None, detail={}
                )
            entries.append(use)
    return entries


def lineage_history(rng: random.Random) -> list[dict[str, Any]]:
    """Three models' edges, each recorded anew one to three times with different columns."""
    rows = []
    at = datetime.combine(START, datetime.min.time(), tzinfo=UTC)
    for revision in range(3):
        for model in rng.sample(["m.silver", "m.summary", "s.features"], rng.randint(1, 3)):
            at += timedelta(hours=1)
            for column in rng.sample(["user_id", "event", "device_id", "*"], rng.randint(1, 3)):
                rows.append(
                    {
                        "edge_id": len(rows) + 1,
                        "model": model,
                        "source_table": f"src.{model}",
                        "source_column": column,
                        "target_table": f"out.{model}",
                        "target_column": f"{column}_{revision}",
                        "recorded_at": at,
                    }
                )
    return rows


def chained(rng: random.Random, on_time: list[Any], others: list[Any]) -> list[Any]:
    """In time order, as the platform chains them, but for a few of `others` that reach the
    chain late, recorded up to weeks before the entries chained ahead of them: two of any kind
    somewhere later, and three of the spikes (which raise the baselines of the days after them)
    last."""
    order = sorted(on_time + others, key=lambda entry: entry.recorded_at)
    for entry in rng.sample(others, 2):
        index = order.index(entry)
        order.pop(index)
        order.insert(rng.randint(index, len(order)), entry)
    spikes = [entry for entry in others if (entry.row_count or 0) >= 60]
    for entry in rng.sample(spikes, min(3, len(spikes))):
        order.remove(entry)
        order.append(entry)
    return order


def split(rng: random.Random, rows: list[Any], parts: int) -> list[list[Any]]:
    """`rows` in `parts` runs, in order; some may be empty."""
    cuts = sorted(rng.choices(range(len(rows) + 1), k=parts - 1))
    return [rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]


def snapshot(lake: Lakehouse, tables: list[str] = TABLES) -> dict[str, list[tuple[str, ...]]]:
    """Each table's rows as sorted tuples of their values' reprs."""
    return {
        table: sorted(
            tuple(repr(row[column]) for column in sorted(row))
            for row in lake.read(f"compliance_auditing.{table}").to_pylist()
        )
        for table in tables
    }


@pytest.mark.parametrize("seed", range(CASES))
def test_any_split_into_publications_ends_in_the_tables_a_full_rebuild_gives(
    seed: int, lake: Lakehouse, tmp_path: Path, kit: Any
) -> None:
    rng = random.Random(seed)
    entries = chained(rng, surely_flagged(kit), user_reads(rng, kit) + key_uses(rng, kit))
    ticks = rng.randint(3, 5)
    publications = split(rng, kit.Chain.of(entries).rows, ticks)
    recordings = split(rng, lineage_history(rng), ticks)
    models = kit.Models(lake, tmp_path)
    for audit_rows, edges in zip(publications, recordings, strict=True):
        kit.publish(lake, audit_rows)
        if edges:
            lake.append(LINEAGE_TABLE, pa.Table.from_pylist(edges, LINEAGE_SCHEMA))
        models.run()
    ticked = snapshot(lake)

    models.runner.run(full_refresh=True)

    rebuilt = snapshot(lake)
    for table in TABLES:
        assert ticked[table] == rebuilt[table], f"seed {seed}: {table} differs"
    assert ticked["gold.access_anomalies"], "the case flags a day"
    assert ticked["gold.dormant_key_uses"], "the case has a dormant key"
    models.store.dispose()


def anomalies(lake: Lakehouse) -> list[tuple[Any, ...]]:
    """(day, actor, rows read, history days, baseline, ratio) of each flagged day."""
    columns = ["day", "actor", "rows_read", "history_days", "baseline_rows_per_day", "ratio"]
    rows = lake.read("compliance_auditing.gold.access_anomalies").to_pylist()
    return sorted(tuple(row[column] for column in columns) for row in rows)


def test_a_late_read_that_raises_a_baseline_unflags_the_day_after(
    lake: Lakehouse, tmp_path: Path, kit: Any
) -> None:
    """ivy reads 10 rows a day 09-01..09-10, then 120 just after midnight on 09-11: 12 times
    her baseline of 10. A read of 200 rows at 23:59 on 09-10 reaches the chain after that."""
    day = date(2026, 9, 1)
    daily = [
        kit.read("ivy", day + timedelta(days=n), PAGES, ["day"], 10, ["viewer"]) for n in range(10)
    ]
    spike = kit.replace(
        kit.read("ivy", date(2026, 9, 11), PAGES, ["day"], 120, ["viewer"]),
        recorded_at=datetime(2026, 9, 11, 0, 0, 5, tzinfo=UTC),
    )
    late = kit.replace(
        kit.read("ivy", date(2026, 9, 10), PAGES, ["day"], 200, ["viewer"]),
        recorded_at=datetime(2026, 9, 10, 23, 59, 59, tzinfo=UTC),
    )
    chain = kit.Chain.of([*daily, spike])
    models = kit.Models(lake, tmp_path)
    kit.publish(lake, chain.rows)
    models.run()
    assert anomalies(lake) == [(date(2026, 9, 11), "ivy", 120, 10, 10.0, 12.0)]

    kit.publish(lake, chain.extend([late]))
    models.run()

    # 09-10: 210 rows over 9 days of 10 rows (21 times). 09-11: (90 + 210) / 10 = 30 a day,
    # and 120 is 4 times that: no longer flagged.
    assert anomalies(lake) == [(date(2026, 9, 10), "ivy", 210, 9, 10.0, 21.0)]
    ticked = snapshot(lake, REPORTS)
    models.runner.run(full_refresh=True)
    assert snapshot(lake, REPORTS) == ticked
    models.store.dispose()


def test_rows_retention_removes_leave_the_verdicts_a_rebuild_of_what_is_left_gives(
    lake: Lakehouse, tmp_path: Path, kit: Any
) -> None:
    """ivy reads 28 rows on 08-01, 1 on 08-10 and 100 on 08-20; key etl is created on 08-01
    and used on 09-14. Then retention removes the days before 08-05 from the reports' inputs."""
    reads = [
        kit.read("ivy", date(2026, 8, 1), PAGES, ["day"], 28, ["viewer"]),
        kit.read("ivy", date(2026, 8, 10), PAGES, ["day"], 1, ["viewer"]),
        kit.read("ivy", date(2026, 8, 20), PAGES, ["day"], 100, ["viewer"]),
        kit.key_created("etl", date(2026, 8, 1)),
        kit.read("key:etl", date(2026, 9, 14), SUMMARY, ["user_id"], 3, ["viewer"], kind="api_key"),
    ]
    models = kit.Models(lake, tmp_path)
    kit.publish(lake, kit.Chain.of(reads).rows)
    models.run()
    # 08-20: 29 rows over the 19 days since her first read.
    assert anomalies(lake) == [(date(2026, 8, 20), "ivy", 100, 19, 29 / 19, 100 / (29 / 19))]
    dormant = lake.read("compliance_auditing.gold.dormant_key_uses").to_pylist()
    assert [(r["key_name"], r["previous_activity"], r["idle_days"]) for r in dormant] == [
        ("key:etl", "created", 44.125)  # 08-01 09:00 .. 09-14 12:00
    ]

    # What `enforce_retention` does to each table past its retention.
    lake.delete("compliance_auditing.gold.daily_access", "day < '2026-08-05'")
    lake.delete("compliance_auditing.silver.key_activity", "recorded_at < '2026-08-05T00:00:00Z'")
    models.run()

    # ivy's first read is now 08-10: 1 row over 10 days, under one a day, so one. The key's use
    # has no earlier activity on record left: not judged.
    assert anomalies(lake) == [(date(2026, 8, 20), "ivy", 100, 10, 0.1, 100.0)]
    assert lake.read("compliance_auditing.gold.dormant_key_uses").num_rows == 0
    ticked = snapshot(lake, REPORTS)
    models.runner.run(["gold.access_anomalies", "gold.dormant_key_uses"], full_refresh=True)
    assert snapshot(lake, REPORTS) == ticked
    models.store.dispose()
