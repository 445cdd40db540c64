"""Model templates: one model file that several tables are instances of, e.g. one per grain.

A template is a `.sql.jinja` file (so `load_sql_models` passes it over) whose `{{ name }}`
placeholders are filled per instance, header included:

    /* ---
    name: gold.activity_{{ suffix }}
    description: 1-{{ unit }} windows of activity.
    --- */
    select date_trunc('{{ unit }}', timestamp) as window_start, count(*) as events
    from ref_since('silver.app_events', '1 {{ unit }}')
    group by 1

`load_sql_template(path, {"suffix": "1h", "unit": "hour"})` renders it with Jinja2 and loads the
result like any `.sql` model, so the header, the input macros, `var(...)` and the column lineage
all read the rendered SQL. Values are one line each, so every error names the template's line.
"""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
from pydantic import BaseModel

from dataplatform.core.errors import did_you_mean
from dataplatform.core.processing._errors import ModelDefinitionError
from dataplatform.core.processing._models import SqlModel, parse_sql_model

# The output is SQL, not HTML: escaping would corrupt quotes. StrictUndefined makes a placeholder
# with no value an error rather than an empty string.
_JINJA = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701
)


def load_sql_template(
    path: Path,
    parameters: Mapping[str, str],
    variables: Mapping[str, Any] | BaseModel | None = None,
) -> SqlModel:
    """One instance of the model template at `path`, its placeholders filled from `parameters`.

    `variables` are the product's settings, read by `var('name')` as in any `.sql` model.
    """
    source = path.read_text()
    try:
        template = _JINJA.from_string(source)
        placeholders = jinja2.meta.find_undeclared_variables(_JINJA.parse(source))
    except jinja2.TemplateSyntaxError as exc:
        raise ModelDefinitionError(
            path, exc.lineno, f"the template is not valid Jinja: {exc.message}"
        ) from None
    _check_parameters(source, path, placeholders, parameters)
    try:
        rendered = template.render(parameters)
    except jinja2.UndefinedError as exc:  # e.g. `{{ unit.name }}` on a string value
        raise ModelDefinitionError(path, None, f"the template failed to render: {exc}") from None
    return parse_sql_model(rendered, path, variables)


def _check_parameters(
    source: str, path: Path, placeholders: set[str], parameters: Mapping[str, str]
) -> None:
    missing = sorted(placeholders - set(parameters))
    if missing:
        given = ", ".join(sorted(parameters)) or "none"
        raise ModelDefinitionError(
            path,
            _line_of_placeholder(source, missing[0]),
            f"the template uses {_listed(missing)} but no value was given for it "
            f"(parameters given: {given}).{did_you_mean(missing[0], parameters)}",
        )
    unused = sorted(set(parameters) - placeholders)
    if unused:
        uses = ", ".join(sorted(placeholders)) or "none"
        raise ModelDefinitionError(
            path,
            1,
            f"parameter {_listed(unused)} fills no placeholder of the template (it uses: "
            f"{uses}).{did_you_mean(unused[0], placeholders)}",
        )
    for name, value in parameters.items():
        if not isinstance(value, str) or "\n" in value:
            raise ModelDefinitionError(
                path,
                _line_of_placeholder(source, name),
                f"parameter `{name}` must be a one-line string, so that the lines errors name "
                f"are the template's; got {value!r}.",
            )


def _listed(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _line_of_placeholder(source: str, name: str) -> int:
    """The line of the first `{{ ... name ... }}` or `{% ... name ... %}` in the template."""
    found = re.search(r"\{[{%][^}]*\b" + re.escape(name) + r"\b", source)
    return source[: found.start()].count("\n") + 1 if found else 1
