"""The product's pages in the admin console: segments with their sizes and trends, a rule
builder that previews a filter's size before it is saved, the ML segments with their profiles,
and a person's features and segments, each drawn from one of the product's own routes."""

import json
from collections.abc import Sequence

from dataplatform.core.access import product_permission
from dataplatform.core.console import Action, Answer, Chart, ConsolePage, Field, Form
from dataplatform.core.product_context import ProductContext
from user_segmentation.features import FEATURES
from user_segmentation.rules import OPS_OF_KIND
from user_segmentation.settings import UserSegmentationSettings

READ = product_permission("user-segmentation", "read")
WRITE = product_permission("user-segmentation", "write")
EXAMPLE = {
    "all": [
        {"feature": "frequency", "op": ">=", "value": 3},
        {"feature": "last_platform", "op": "=", "value": "mobile"},
    ]
}  # the builder's first rows
# The tests of the numbers, every one (texts and booleans take some of them).
ALL_OPS = OPS_OF_KIND["number"]
GRAMMAR_HELP = (
    "A value is a number, a text, true or false; `in` takes a list ([1, 2]), `between` two "
    "numbers ([3, 10]). Features and their tests: "
    + ", ".join(
        f"{name} ({kind}: {' '.join(OPS_OF_KIND[kind])})" for name, kind in FEATURES.items()
    )
    + "."
)


def _definition() -> tuple[Field, Field]:
    """The builder: whether all or any of the conditions must hold, and a row per condition."""
    return (
        Field("match", "People who meet", "select", "all", options=("all", "any")),
        Field(
            "definition.{match}",
            "Conditions",
            "rows",
            json.dumps(EXAMPLE["all"]),
            help=GRAMMAR_HELP,
            columns=(
                Field("feature", "Feature", "select", options=tuple(FEATURES)),
                Field("op", "Is", "select", options=ALL_OPS),
                Field("value", "Value", "json"),
            ),
        ),
    )


def console_pages(context: ProductContext[UserSegmentationSettings]) -> Sequence[ConsolePage]:
    return (
        ConsolePage(
            "segments",
            "Segments",
            READ,
            description="Rule segments and ML segments with their sizes now; a segment's trend "
            "over the days.",
            forms=(
                Form(
                    "Trend of a segment",
                    "/{segment_id}/profile",
                    "GET",
                    fields=(Field("segment_id", "Segment id"),),
                    submit="Show",
                    answer=Answer("day", ("size", "entered", "exited"), rows="trend", kind="line"),
                ),
            ),
            charts=(
                Chart(
                    "Segments",
                    "",
                    x="segment_id",
                    series=("kind", "name", "size", "version", "updated_at"),
                    kind="table",
                    actions=(
                        Action(
                            "Delete",
                            "DELETE",
                            "/{segment_id}",
                            confirm="Delete segment {segment_id}?",
                            permission=WRITE,
                        ),
                    ),
                ),
                Chart("Size of each segment", "", x="segment_id", series=("size",), kind="bar"),
            ),
        ),
        ConsolePage(
            "builder",
            "Rule builder",
            READ,
            description="Build a filter over the people's features, a condition a row, see how "
            "many it keeps now, then save it as a rule segment (its members come with the next "
            "model run). Nested all/any filters: POST /segments with JSON.",
            forms=(
                Form(
                    "Preview the size",
                    "/preview",
                    fields=_definition(),
                    submit="Preview",
                ),
                Form(
                    "Save as a rule segment",
                    "",
                    fields=(
                        Field("name", "Name"),
                        Field("description", "Description", required=False),
                        *_definition(),
                    ),
                    submit="Save",
                    permission=WRITE,
                ),
            ),
        ),
        ConsolePage(
            "ml",
            "ML segments",
            READ,
            description="The clusters the latest model found, their sizes and profiles, and "
            "each model version trained.",
            forms=(
                Form(
                    "Profile of a segment",
                    "/{segment_id}/profile",
                    "GET",
                    fields=(Field("segment_id", "Segment id", value="ml-0"),),
                    submit="Show",
                ),
            ),
            charts=(
                Chart(
                    "ML segments",
                    "?kind=ml",
                    x="segment_id",
                    series=("size", "version"),
                    kind="bar",
                ),
                Chart(
                    "Model versions",
                    "/models",
                    x="version",
                    series=("trained_at", "silhouette", "sizes"),
                    kind="table",
                ),
            ),
        ),
        ConsolePage(
            "person",
            "A person",
            READ,
            description="A person's features and the segments they are in, by any of their ids.",
            forms=(
                Form(
                    "Find a person",
                    "/users/{user_id}",
                    "GET",
                    fields=(Field("user_id", "User id, browser or install id"),),
                    submit="Find",
                ),
            ),
        ),
    )
