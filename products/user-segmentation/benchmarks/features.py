"""Ticks of the features over a large history, beside the model that recomputed everyone.

    .venv/bin/python products/user-segmentation/benchmarks/features.py --events 1000000

Writes web-user-analytics' gold.session_events (`--events` events of `--events`/25 browsers
over `--days` UTC days, one browser in three signed in), mobile-user-analytics' gold.user_days
(app days of signed-in users, and of installs before sign-in) and both products'
gold.identity_links, runs the product's models once, then three ticks timed per model:
`--tick` new events on the newest day; as many on the next day (as_of moves on, so everyone is
rewritten); and ten browsers with history signing in (web gives their events a user, and their
activity moves to that person), and a full rebuild. The same history and ticks then run through
the features model as it was at `--before` (a git commit: by default the last one where it was
a `replace` model, recomputing every person on every tick).
"""

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.funnels import FunnelStep, funnel_progress_sql, funnel_steps_json
from dataplatform.core.processing import (
    Model,
    ModelRunner,
    RunResult,
    build_graph,
    load_sql_template,
)
from dataplatform.core.product import person_columns_of
from user_segmentation.product import product

REPOSITORY = Path(__file__).resolve().parents[3]
TEMPLATE = (
    "products/user-segmentation/src/user_segmentation/processing/gold_user_features.sql.jinja"
)
REPLACED_AT = "3608552"  # the last commit whose gold.user_features was `materialized: replace`
SESSION_EVENTS = "web_user_analytics.gold.session_events"
USER_DAYS = "mobile_user_analytics.gold.user_days"
WEB_LINKS = "web_user_analytics.gold.identity_links"
MOBILE_LINKS = "mobile_user_analytics.gold.identity_links"
IDENTITY = ["silver.identity_links", "silver.identity_graph", "gold.identity_graph"]
START = np.datetime64("2026-09-01T00:00", "us")
TIME = pa.timestamp("us", tz="UTC")
PAGES = np.array(["/", "/products/a", "/products/b", "/cart", "/checkout", "/about"])
LINK_SCHEMA = pa.schema(
    [("user_id", pa.string()), ("anonymous_id", pa.string()),
     ("first_linked_at", TIME), ("last_linked_at", TIME)]
)  # fmt: skip
USER_DAYS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()), ("signed_in", pa.bool_()), ("day", pa.date32()),
        ("platform", pa.string()), ("first_seen", TIME), ("last_seen", TIME),
        ("sessions", pa.int64()), ("events", pa.int64()), ("purchases", pa.int64()),
        ("revenue", pa.list_(pa.struct([("currency", pa.string()), ("amount", pa.float64())]))),
        ("screens", pa.map_(pa.string(), pa.int64())),
    ]
)  # fmt: skip


def web_events(browser: np.ndarray, day: np.ndarray, first: int, seed: int) -> pa.Table:
    """An event of each `browser` on each `day` (days after START), ids from `first`: page
    views and 2 % purchases; a browser whose number divides by 3 is signed in as `u<number>`."""
    rng = np.random.default_rng(seed)
    count = len(browser)
    minute = rng.integers(0, 1440, count)
    purchase = rng.random(count) < 0.02
    browsers = np.char.add("b", browser.astype(str))
    visit = (day * 48 + minute // 30).astype(str)  # a visit: one browser's half hour
    return pa.table(
        {
            "event_id": np.char.add("e", np.arange(first, first + count).astype(str)),
            "session_id": np.char.add(np.char.add(browsers, "-"), visit),
            "visitor_id": browsers,
            "user_id": pa.array(np.char.add("u", browser.astype(str)), mask=browser % 3 != 0),
            "timestamp": pa.array(START + (day * 1440 + minute).astype("timedelta64[m]"), TIME),
            "event": np.where(purchase, "purchase", "page"),
            "is_pageview": ~purchase,
            "is_conversion": purchase,
            "revenue": pa.array(np.full(count, 20.0), mask=~purchase),
            "path": PAGES[rng.integers(0, len(PAGES), count)],
        }
    )


def app_days(users: np.ndarray, days: int, count: int, seed: int) -> pa.Table:
    """About `count` app days of the signed-in `users` (numbers): an odd number's are its
    install's (`i<number>`, before sign-in), an even number's the user's."""
    rng = np.random.default_rng(seed)
    pairs = np.unique(rng.choice(users, count) * days + rng.integers(0, days, count))
    number, day = pairs // days, pairs % days
    first = START + (day * 1440 + 480).astype("timedelta64[m]")
    signed_in = number % 2 == 0
    rows = len(pairs)
    keys = np.where(
        signed_in, np.char.add("u", number.astype(str)), np.char.add("i", number.astype(str))
    )
    return pa.table(
        {
            "user_id": keys,
            "signed_in": signed_in,
            "day": pa.array(first, TIME).cast(pa.date32()),
            "platform": ["ios"] * rows,
            "first_seen": pa.array(first, TIME),
            "last_seen": pa.array(first + np.timedelta64(1, "h"), TIME),
            "sessions": np.ones(rows, dtype=np.int64),
            "events": np.full(rows, 5, dtype=np.int64),
            "purchases": np.zeros(rows, dtype=np.int64),
            "revenue": [[]] * rows,
            "screens": [[("Home", 2)]] * rows,
        },
        schema=USER_DAYS_SCHEMA,
    )


def links(users: np.ndarray, prefix: str) -> pa.Table:
    """A link of each user `u<number>` with `<prefix><number>`, at START."""
    at = pa.array(np.full(len(users), START), TIME)
    return pa.table(
        {
            "user_id": np.char.add("u", users.astype(str)),
            "anonymous_id": np.char.add(prefix, users.astype(str)),
            "first_linked_at": at,
            "last_linked_at": at,
        },
        schema=LINK_SCHEMA,
    )


@dataclass
class History:
    """The inputs, and what each tick merges into them (by table)."""

    tables: dict[str, pa.Table]
    ticks: list[tuple[str, dict[str, pa.Table]]]


KEYS = {SESSION_EVENTS: ["event_id"], WEB_LINKS: ["user_id", "anonymous_id"]}


def history(events: int, days: int, tick: int, seed: int) -> History:
    rng = np.random.default_rng(seed)
    browsers = events // 25
    past = web_events(rng.integers(0, browsers, events), rng.integers(0, days, events), 0, seed)
    users = np.arange(0, browsers, 3)

    def more(day: int, first: int) -> pa.Table:
        return web_events(rng.integers(0, browsers, tick), np.full(tick, day), first, seed + day)

    # Ten anonymous browsers with history sign in as `v<number>`: web gives their events the user.
    joining = np.arange(1, 31, 3)
    theirs = past.filter(
        pc.is_in(past["visitor_id"], pa.array(np.char.add("b", joining.astype(str))))
    )
    signed = pc.replace_substring(theirs["visitor_id"], "b", "v")
    sign_ins = links(joining, "b").set_column(
        0, "user_id", pa.array(np.char.add("v", joining.astype(str)))
    )
    return History(
        {
            SESSION_EVENTS: past,
            USER_DAYS: app_days(users, days, events // 20, seed),
            WEB_LINKS: links(users, "b"),
            MOBILE_LINKS: links(users[users % 2 == 1], "i"),
        },
        [
            (f"+{tick:,} events on the newest day", {SESSION_EVENTS: more(days - 1, events)}),
            (
                f"+{tick:,} events on the next day (as_of moves on)",
                {SESSION_EVENTS: more(days, events + tick)},
            ),
            (
                "10 browsers with history sign in",
                {SESSION_EVENTS: theirs.set_column(3, "user_id", signed), WEB_LINKS: sign_ins},
            ),
        ],
    )


def replaced_features(before: str) -> list[Model]:
    """The identity models, and gold.user_features as it was at commit `before`."""
    # git from the PATH, on a commit named by whoever runs the benchmark.
    shown = subprocess.run(  # noqa: S603
        ["git", "show", f"{before}:{TEMPLATE}"],  # noqa: S607
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    )
    text = shown.stdout
    settings = product.settings()
    variables = {**settings.model_dump(), "funnel_steps": funnel_steps_json(settings.funnel)}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gold_user_features.sql.jinja"
        path.write_text(text)
        progress = funnel_progress_sql(
            FunnelStep,
            events="web_in_window",
            steps_json="var('funnel_steps')",
            step_count=len(settings.funnel),
        )
        features = load_sql_template(path, {"funnel_progress": progress}, variables)
    identity = [model for model in product.model_list() if model.name in IDENTITY]
    return [*identity, features]


def run_ticks(folder: Path, data: History, models: list[Model] | None) -> list[list[RunResult]]:
    """Every model's results on the history, then on each tick."""
    lake = Lakehouse(folder / "lake")
    store = MetadataStore(f"sqlite:///{folder / 'runs.db'}")
    store.upgrade()
    graph = (
        product.model_graph()
        if models is None
        else build_graph(
            product.namespace,
            models,
            [t.name for t in product.tables],
            person_columns_of([product]),
        )
    )
    runner = ModelRunner(graph, lake, store)
    for table, rows in data.tables.items():
        lake.append(table, rows)
    results = [runner.run()]
    for _, merged in data.ticks:
        for table, rows in merged.items():
            lake.merge(table, rows, KEYS[table])
        results.append(runner.run())
    results.append(runner.run(full_refresh=True))
    for result in (r for run in results for r in run):
        if result.status == "failed":
            raise SystemExit(f"{result.model} failed: {result.error}")
    return results


def seconds(results: list[RunResult], model: str) -> str:
    found = [r for r in results if r.model.endswith(model) and r.status == "succeeded"]
    return f"{found[0].duration_ms / 1000:.2f}" if found else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--tick", type=int, default=100)
    parser.add_argument("--before", default=REPLACED_AT)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    data = history(arguments.events, arguments.days, arguments.tick, arguments.seed)
    with tempfile.TemporaryDirectory() as folder:
        now = run_ticks(Path(folder) / "now", data, None)
        then = run_ticks(Path(folder) / "before", data, replaced_features(arguments.before))
    labels = [
        "first run (the whole history)",
        *(label for label, _ in data.ticks),
        "full rebuild (`--full-refresh`)",
    ]
    lines = [
        f"{arguments.events:,} web events over {arguments.days} days, "
        f"{data.tables[USER_DAYS].num_rows:,} app days; {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
        "",
        "| run | silver.person_activity s | gold.user_features s | before: gold.user_features s |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {label} | {seconds(run, 'silver.person_activity')} | "
            f"{seconds(run, 'gold.user_features')} | {seconds(old, 'gold.user_features')} |"
            for label, run, old in zip(labels, now, then, strict=True)
        ),
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
