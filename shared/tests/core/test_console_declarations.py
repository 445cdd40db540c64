"""A product's console pages are checked when declared: a mistake in one names itself at import,
not as a blank chart in a browser."""

import pytest

from dataplatform.core.console import Action, Answer, Chart, ConsolePage, Field, Form
from dataplatform.core.errors import InvalidNameError


def test_a_chart_names_columns_and_a_route_under_the_prefix() -> None:
    with pytest.raises(InvalidNameError, match="must be a path under the product's prefix"):
        Chart("Visitors", "overview", x="day", series=("visitors",))
    with pytest.raises(InvalidNameError, match="`visitors; drop` is not a column"):
        Chart("Visitors", "/overview", x="day", series=("visitors; drop",))
    with pytest.raises(InvalidNameError, match="draws no series"):
        Chart("Visitors", "/overview", x="day", series=())
    # The prefix itself, with or without a query, is a route too (`/segments?kind=ml`).
    assert Chart("Segments", "?kind=ml", x="segment_id", series=("size",)).source == "?kind=ml"


def test_a_heatmap_names_its_cells_and_their_key_and_value() -> None:
    with pytest.raises(InvalidNameError, match="a heatmap names its `cells` list"):
        Chart("Retention", "/retention", x="cohort_day", series=("rate",), kind="heatmap")
    heatmap = Chart(
        "Retention",
        "/retention",
        x="cohort_day",
        series=("day", "rate"),
        cells="retention",
        kind="heatmap",
    )
    assert heatmap.cells == "retention"


def test_a_form_fills_every_placeholder_of_its_target_from_a_field() -> None:
    with pytest.raises(InvalidNameError, match=r"names \['user_id'\], which no field fills"):
        Form("Summary", "/users/{user_id}/summary", "GET", fields=(Field("id", "Id"),))
    with pytest.raises(InvalidNameError, match="two fields with one name"):
        Form("Create", "/things", fields=(Field("name", "Name"), Field("name", "Again")))
    with pytest.raises(InvalidNameError, match="key names joined by"):
        Field("values..days", "Days")
    with pytest.raises(InvalidNameError, match="a select without options"):
        Field("kind", "Kind", "select")
    with pytest.raises(InvalidNameError, match="must be a path"):
        Action("Revoke", "DELETE", "keys/{name}")
    with pytest.raises(InvalidNameError, match="not a column"):
        Answer("key", ("before-after",))


def test_a_page_has_a_slug_and_no_two_items_of_one_title() -> None:
    chart = Chart("Visitors", "/overview", x="day", series=("visitors",))
    with pytest.raises(InvalidNameError, match="lower-case words joined by `-`"):
        ConsolePage("Traffic Page", "Traffic", "product:web:read", charts=(chart,))
    with pytest.raises(InvalidNameError, match="two charts or forms with one title"):
        ConsolePage(
            "traffic",
            "Traffic",
            "product:web:read",
            charts=(chart,),
            forms=(Form("Visitors", "/overview", "GET"),),
        )


def test_a_rows_field_names_its_columns_and_a_name_part_names_a_field() -> None:
    condition = (Field("feature", "Feature"), Field("value", "Value", "json"))
    with pytest.raises(InvalidNameError, match="a `rows` field, and only one, names its columns"):
        Field("conditions", "Conditions", "rows")
    with pytest.raises(InvalidNameError, match="a `rows` field, and only one, names its columns"):
        Field("feature", "Feature", columns=condition)
    with pytest.raises(InvalidNameError, match=r"names \['match'\], which no field fills"):
        Form(
            "Preview",
            "/preview",
            fields=(Field("definition.{match}", "If", "rows", columns=condition),),
        )
    builder = Form(
        "Preview",
        "/preview",
        fields=(
            Field("match", "Match", "select", options=("all", "any")),
            Field("definition.{match}", "If", "rows", columns=condition),
        ),
    )
    assert [field.name for field in builder.fields] == ["match", "definition.{match}"]
