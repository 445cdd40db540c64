"""Model templates: one file, several tables; each instance is a model like any `.sql` file's,
and each error names the template's file and line."""

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from dataplatform.core.processing import (
    ColumnEdge,
    ModelDefinitionError,
    column_lineage,
    identity_links_model,
    load_sql_models,
    load_sql_template,
)

PRODUCT = "shop"
WINDOWS = """
    /* ---
    name: gold.orders_{{ suffix }}
    materialized: merge
    unique_key: [window_start]
    description: 1-{{ unit }} windows of orders.
    columns:
      window_start: {type: timestamptz, description: The {{ unit }} (UTC).}
      orders: {type: bigint}
    --- */
    select date_trunc('{{ unit }}', ordered_at) as window_start, count(*) as orders
    from ref_since('silver.orders', '1 {{ unit }}')
    where amount > var('min_amount')
    group by 1
    """


def template(folder: Path, text: str = WINDOWS, name: str = "gold_orders.sql.jinja") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_each_instance_is_the_template_with_its_values_and_the_settings(tmp_path: Path) -> None:
    path = template(tmp_path)

    hourly = load_sql_template(path, {"suffix": "1h", "unit": "hour"}, {"min_amount": 5})
    daily = load_sql_template(path, {"suffix": "1d", "unit": "day"}, {"min_amount": 5})

    assert (hourly.name, daily.name) == ("gold.orders_1h", "gold.orders_1d")
    assert hourly.header.description == "1-hour windows of orders."
    assert daily.header.columns["window_start"].description == "The day (UTC)."
    assert "date_trunc('day', ordered_at)" in daily.sql
    assert "where amount > 5" in daily.sql
    assert hourly.lookbacks == {"silver.orders": timedelta(hours=1)}
    assert daily.lookbacks == {"silver.orders": timedelta(days=1)}
    # Lines are the template's: the input is on its line 11.
    assert [(r.table, r.line) for r in daily.references] == [("silver.orders", 11)]
    assert daily.path == hourly.path == path


def test_the_lineage_of_each_instance_reads_through_the_template(tmp_path: Path) -> None:
    daily = load_sql_template(
        template(tmp_path), {"suffix": "1d", "unit": "day"}, {"min_amount": 5}
    )
    schemas = {"shop.silver.orders": {"ordered_at": "timestamptz", "amount": "double"}}

    edges = column_lineage(daily, PRODUCT, schemas)

    assert (
        ColumnEdge("shop.silver.orders", "ordered_at", "shop.gold.orders_1d", "window_start")
        in edges
    )
    assert {edge.target_table for edge in edges} == {"shop.gold.orders_1d"}


def test_a_folder_of_models_leaves_its_templates_to_be_instantiated(tmp_path: Path) -> None:
    template(tmp_path)

    assert load_sql_models(tmp_path) == []


def test_a_placeholder_without_a_value_names_its_line_and_the_parameters_given(
    tmp_path: Path,
) -> None:
    path = template(tmp_path)

    with pytest.raises(ModelDefinitionError) as error:
        load_sql_template(path, {"suffix": "1d", "unti": "day"}, {"min_amount": 5})

    assert str(error.value).startswith(f"{path}:5:")  # the description, first to use `unit`
    assert "the template uses `unit` but no value was given" in str(error.value)
    assert "(parameters given: suffix, unti). Did you mean `unti`?" in str(error.value)


def test_a_parameter_no_placeholder_uses_is_refused(tmp_path: Path) -> None:
    path = template(tmp_path)

    with pytest.raises(ModelDefinitionError, match="parameter `grain` fills no placeholder"):
        load_sql_template(path, {"suffix": "1d", "unit": "day", "grain": "day"})


def test_a_value_on_several_lines_is_refused_so_error_lines_stay_true(tmp_path: Path) -> None:
    path = template(tmp_path)

    with pytest.raises(ModelDefinitionError) as error:
        load_sql_template(path, {"suffix": "1d", "unit": "day\n"}, {"min_amount": 5})

    assert str(error.value).startswith(f"{path}:5:")
    assert "parameter `unit` must be a one-line string" in str(error.value)


def test_a_template_that_is_not_jinja_names_its_line(tmp_path: Path) -> None:
    text = WINDOWS.replace("group by 1", "group by {{ 1 }")

    with pytest.raises(ModelDefinitionError) as error:
        load_sql_template(template(tmp_path, text), {"suffix": "1d", "unit": "day"})

    assert ":13: the template is not valid Jinja" in str(error.value)


def test_identity_links_is_one_model_each_product_reads_from_its_own_events() -> None:
    web = identity_links_model("bronze.clickstream", anonymous_id_of="a browser")
    mobile = identity_links_model("silver.app_events", anonymous_id_of="an install")

    assert web.path == mobile.path
    assert web.name == mobile.name == "gold.identity_links"
    assert {r.table for r in web.references} == {"bronze.clickstream"}
    assert {r.table for r in mobile.references} == {"silver.app_events"}
    assert "a user id and a browser's anonymous id seen together" in web.header.description
    anonymous_id = mobile.header.columns["anonymous_id"]
    assert anonymous_id.description.startswith("An install's anonymous id")
    assert anonymous_id.tags == ["pii"]


def test_a_placeholder_the_value_cannot_fill_fails_with_the_file(tmp_path: Path) -> None:
    text = WINDOWS.replace("1-{{ unit }} windows", "1-{{ unit.plural }} windows")

    with pytest.raises(ModelDefinitionError, match="the template failed to render"):
        load_sql_template(template(tmp_path, text), {"suffix": "1d", "unit": "day"})
