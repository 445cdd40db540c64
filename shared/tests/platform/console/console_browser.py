"""Reading a console page as a person would: log in with the keyboard, read a chart's rows from
its data table, fill and send a form, read its answer."""

from pathlib import Path
from typing import TYPE_CHECKING

from dataplatform.testing import ADMIN

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

VENDOR = Path(__file__).parents[4] / "shared/src/dataplatform/platform/console/static/vendor"
TIMEOUT_MS = 60_000  # generous: a slow machine must not fail a page that works


def log_in_with_the_keyboard(page: "Page", url: str, password: str) -> None:
    page.goto(f"{url}/console")
    page.wait_for_url("**/console/login?next=/console")
    page.keyboard.type(ADMIN)  # the user name field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/console")


def chart_rows(page: "Page", title: str) -> list[list[str]]:
    """A chart's rows as the page holds them, once its script has drawn it."""
    figure = page.locator("figure.chart", has=page.locator("figcaption", has_text=title))
    figure.and_(page.locator("[data-loaded], [data-error]")).wait_for(timeout=TIMEOUT_MS)
    assert figure.get_attribute("data-error") is None, figure.get_attribute("data-error")
    rows = figure.locator("table.chart-data tbody tr")
    return [row.locator("th, td").all_text_contents() for row in rows.all()]


def table_rows(table: "Locator") -> list[list[str]]:
    return [row.locator("th, td").all_text_contents() for row in table.locator("tbody tr").all()]


def submit_form(page: "Page", legend: str, values: dict[str, str]) -> "Locator":
    """Fill the form whose legend is `legend` (field label -> value; a select takes its option)
    and send it; the form, once its answer is in."""
    form = page.locator("form.console-form", has=page.locator("legend", has_text=legend))
    for label, value in values.items():
        field = form.get_by_label(label, exact=True)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()
    form.and_(page.locator("[data-answered]")).wait_for(timeout=TIMEOUT_MS)
    return form


def answer_of(form: "Locator") -> dict[str, str]:
    """A form's answer shown as a list of fields (the form's own message when it was refused)."""
    status = form.locator(".status").inner_text()
    assert form.get_attribute("data-answered") == "ok", status
    terms = form.locator("dl.answer dt").all_text_contents()
    values = form.locator("dl.answer dd").all_text_contents()
    return dict(zip(terms, values, strict=True))


def rows_once_at_least(page: "Page", title: str, count: int) -> list[list[str]]:
    """A chart's rows once it holds `count` or more (it loads again after a form changed
    something)."""
    figure = page.locator("figure.chart", has=page.locator("figcaption", has_text=title))
    figure.locator(f"tbody tr:nth-child({count})").wait_for(timeout=TIMEOUT_MS)
    return chart_rows(page, title)


def press_row_button(page: "Page", chart: str, row: str, button: str) -> str:
    """Press `button` on the row of table `chart` whose first cell is `row`; the answer shown."""
    figure = page.locator("figure.chart", has=page.locator("figcaption", has_text=chart))
    line = figure.locator("tbody tr", has=page.get_by_role("rowheader", name=row, exact=True))
    line.get_by_role("button", name=button).click()
    answer = figure.locator("dl.answer")
    answer.wait_for(timeout=TIMEOUT_MS)
    return answer.inner_text()
