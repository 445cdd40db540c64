"""How long each console page takes, on a week of demo-sized data (issue 18's 300 ms budget).

    .venv/bin/python benchmarks/console_pages.py --write docs/BENCHMARKS.md

The platform is the console tests' world (`shared/tests/platform/console/console_world.py`:
`--users` people's week through every product, the platform's tables published, an admin's
records), served by one gateway on loopback. For every page a person can open (each product's,
the admin pages, the catalog and a table's page): the server's answer (the HTML, median of
`--rounds` GETs with the session cookie), and in Debian's Chromium the time from navigation until
every chart on the page has drawn its rows (median of `--rounds` loads). The baseline, measured
in the same run, is the login page: the same HTML shell, stylesheet and libraries, with no data.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
from _measure import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared/tests/platform/console"))

from console_world import every_page, fill_world  # noqa: E402

from dataplatform.platform.auth import SESSION_COOKIE  # noqa: E402
from dataplatform.testing import (  # noqa: E402
    ADMIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    RunningGateway,
    platform_settings,
    running_gateway,
)

SECTION = "Console pages"
BUDGET_MS = 300
ALL_DRAWN = """() => [...document.querySelectorAll('figure.chart')]
    .every((figure) => figure.dataset.loaded !== undefined || figure.dataset.error !== undefined)"""


def page_urls(gateway: RunningGateway) -> list[str]:
    pages = [url for url, _ in every_page(gateway)]
    return ["/console", *pages, "/console/catalog/mobile_user_analytics.gold.user_summary"]


def server_ms(client: httpx.Client, url: str, rounds: int) -> float:
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = client.get(url)
        took.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{url} answered {answer.status_code}: {answer.text[:300]}")
    return statistics.median(took)


Result = tuple[str, float, tuple[float, float]]


def measure(users: int, rounds: int) -> list[Result]:
    """(url, server ms, browser ms until every chart is drawn) per page, login page first."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="console-pages-") as folder:
        root = Path(folder)
        settings = platform_settings(f"sqlite:///{root / 'metadata.db'}", root / "lake")
        with running_gateway(settings) as gateway:
            fill_world(gateway, users=users)
            token = gateway.token(ADMIN, gateway.admin_password)
            client = httpx.Client(base_url=gateway.url, cookies={SESSION_COOKIE: token})
            results = []
            with sync_playwright() as driver:
                browser = driver.chromium.launch(
                    executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
                )
                tab = browser.new_page(viewport={"width": 1280, "height": 900})
                tab.goto(gateway.url + "/console/login")  # the libraries cached, as a person's
                login = httpx.Client(base_url=gateway.url)
                results.append(
                    (
                        "/console/login (baseline)",
                        server_ms(login, "/console/login", rounds),
                        browser_ms(tab, gateway.url + "/console/login", rounds),
                    )
                )
                tab.context.add_cookies(
                    [{"name": SESSION_COOKIE, "value": token, "url": gateway.url}]
                )
                for url in page_urls(gateway):
                    results.append(
                        (
                            url,
                            server_ms(client, url, rounds),
                            browser_ms(tab, gateway.url + url, rounds),
                        )
                    )
                browser.close()
            return results


def browser_ms(tab: "object", url: str, rounds: int) -> tuple[float, float]:
    """The first load (its queries not cached yet) and the median of the next `rounds`."""
    took = []
    for _ in range(rounds + 1):
        started = time.perf_counter()
        tab.goto(url)  # type: ignore[attr-defined]
        tab.wait_for_function(ALL_DRAWN, timeout=60_000)  # type: ignore[attr-defined]
        took.append((time.perf_counter() - started) * 1000)
    return took[0], statistics.median(took[1:])


def report(results: list[Result], users: int, rounds: int) -> str:
    _, base_server, (_, base_browser) = results[0]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()} with "
        f"`.venv/bin/python benchmarks/console_pages.py --users {users} --rounds {rounds}`: "
        f"a week of {users} people's app and web traffic through every product (the demo sends "
        "300), one gateway on loopback, Debian's Chromium. Server: the page's HTML, median of "
        f"{rounds} GETs. Browser: navigation until every chart has drawn its rows, the first "
        "load (its queries not in the gateway's cache, which keeps answers per table version) "
        f"and the median of {rounds} more. Baseline: the login page (the same shell and "
        f"libraries, no data), cached libraries. Budget: {BUDGET_MS} ms.",
        "",
        "| page | server ms | x login | charts drawn, first load ms | again, ms | x login "
        "| within budget (first, again) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for url, server, (first, again) in results:
        within = "/".join("yes" if ms <= BUDGET_MS else "**no**" for ms in (first, again))
        lines.append(
            f"| `{url}` | {server:.1f} | {server / base_server:.1f} | {first:.0f} | {again:.0f} "
            f"| {again / base_browser:.1f} | {within} |"
        )
    pages = results[1:]
    for label, index in (("first load", 0), ("loaded again", 1)):
        over = [url for url, _, times in pages if times[index] > BUDGET_MS]
        slowest = max(pages, key=lambda result: result[2][index])
        lines.append(
            f"\n{label.capitalize()}: {len(pages) - len(over)} of {len(pages)} pages drew every "
            f"chart within {BUDGET_MS} ms; the slowest, `{slowest[0]}`, took "
            f"{slowest[2][index]:.0f} ms."
            + (f" Over: {', '.join(f'`{url}`' for url in over)}." if over else "")
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", type=Path, help="update this markdown file's section")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(
            f"Chromium is not installed at {CHROMIUM}: run infrastructure/local/browser.sh"
        )
    results = measure(args.users, args.rounds)
    text = report(results, args.users, args.rounds)
    print(text)
    if args.write:
        write_section(args.write, SECTION, text)


if __name__ == "__main__":
    main()
