"""The platform's own pages in the console (`/console/admin/<slug>`): people, keys, sources,
product configuration, deployments and snapshots, declared like a product's pages and drawn from
the admin API (`/admin/...`), so the console can do nothing the API would refuse."""

import types
import typing
from typing import Any, Literal

from pydantic import BaseModel

from dataplatform.core.access import ADMIN, QUERY_RUN, SOURCES_WRITE
from dataplatform.core.config import redacted
from dataplatform.core.console import EVERY, Action, Answer, Chart, ConsolePage, Field, Form
from dataplatform.core.product import Product

SOURCE_KINDS = ("web", "ios", "android", "server")


def admin_pages(
    products: typing.Sequence[Product], settings: typing.Mapping[str, BaseModel]
) -> tuple[ConsolePage, ...]:
    """The pages; `settings` holds each product's settings in force, shown under its fields."""
    names = tuple(product.name for product in products)
    return (
        _people(),
        _api_keys(),
        _sources(names),
        _configuration(),
        *(_product_configuration(product, settings[product.name]) for product in products),
        _deployments(names),
        _snapshots(),
        _sql(),
        _exports(),
    )


def _people() -> ConsolePage:
    return ConsolePage(
        "people",
        "Users and roles",
        ADMIN,
        description="Who may log in, with which roles, and what each role may do.",
        forms=(
            Form(
                "Create a user",
                "/admin/users",
                fields=(
                    Field("username", "User name"),
                    Field("roles", "Roles", "list", help="Comma-separated, e.g. viewer,analyst."),
                    Field(
                        "password",
                        "Password",
                        "password",
                        required=False,
                        help="Leave empty to have one generated and shown once.",
                    ),
                ),
                submit="Create",
            ),
            Form(
                "Assign roles",
                "/admin/users/{username}",
                "PATCH",
                fields=(Field("username", "User name"), Field("roles", "Roles", "list")),
                submit="Assign",
            ),
            Form(
                "Reset a password",
                "/admin/users/{username}",
                "PATCH",
                fields=(
                    Field("username", "User name"),
                    Field("password", "New password", "password"),
                ),
                submit="Reset",
            ),
            Form(
                "Change a role's permissions",
                "/admin/roles/{name}",
                "PUT",
                fields=(
                    Field("name", "Role"),
                    Field("permissions", "Permissions", "list", help="Comma-separated."),
                ),
                submit="Change",
            ),
            Form(
                "Create a role",
                "/admin/roles",
                fields=(
                    Field("name", "Name"),
                    Field("permissions", "Permissions", "list", help="Comma-separated."),
                    Field("description", "Description", required=False),
                ),
                submit="Create",
            ),
        ),
        charts=(
            Chart(
                "Users",
                "/admin/users",
                x="username",
                series=("roles", "created_at", "last_login_at", "disabled_at"),
                rows="users",
                kind="table",
                actions=(
                    Action(
                        "Disable",
                        "DELETE",
                        "/admin/users/{username}",
                        confirm="Disable {username}? They can no longer log in.",
                    ),
                ),
            ),
            Chart(
                "Roles",
                "/admin/roles",
                x="name",
                series=("permissions", "description", "builtin"),
                rows="roles",
                kind="table",
            ),
        ),
    )


def _api_keys() -> ConsolePage:
    return ConsolePage(
        "api-keys",
        "API keys",
        ADMIN,
        description="Keys for programs that call the API; a key's secret is shown once.",
        forms=(
            Form(
                "Create an API key",
                "/admin/api-keys",
                fields=(
                    Field("name", "Name"),
                    Field("roles", "Roles", "list", help="Comma-separated."),
                    Field("expires_in_days", "Expires in (days)", "number", required=False),
                ),
                submit="Create",
            ),
        ),
        charts=(
            Chart(
                "API keys",
                "/admin/api-keys",
                x="name",
                series=("key_prefix", "roles", "created_by", "expires_at", "revoked_at"),
                rows="api_keys",
                kind="table",
                actions=(
                    Action("Revoke", "DELETE", "/admin/api-keys/{name}", confirm="Revoke {name}?"),
                ),
            ),
        ),
    )


def _sources(products: tuple[str, ...]) -> ConsolePage:
    return ConsolePage(
        "sources",
        "Sources and write keys",
        SOURCES_WRITE,
        description="Apps, sites and servers that send events; a write key is shown once.",
        forms=(
            Form(
                "Create a source",
                "/admin/sources",
                fields=(
                    Field("name", "Name"),
                    Field("kind", "Kind", "select", options=SOURCE_KINDS),
                    Field("product", "Product", "select", options=products),
                ),
                submit="Create",
            ),
        ),
        charts=(
            Chart(
                "Sources",
                "/admin/sources",
                x="name",
                series=("kind", "product", "key_prefix", "created_at", "active"),
                rows="sources",
                kind="table",
                actions=(
                    Action(
                        "Rotate",
                        "POST",
                        "/admin/sources/{name}/rotate",
                        confirm="Give {name} a new write key? The old one stops working.",
                    ),
                    Action(
                        "Revoke",
                        "DELETE",
                        "/admin/sources/{name}",
                        confirm="Revoke {name}'s write key?",
                    ),
                ),
            ),
        ),
    )


def _configuration() -> ConsolePage:
    return ConsolePage(
        "configuration",
        "Product configuration",
        ADMIN,
        description="Each product's settings version and what its processes last did (the "
        "orchestrator records each start and restart); restart a product's processes here.",
        charts=(
            Chart(
                "Products",
                "/admin/products",
                x="name",
                series=(
                    "owner",
                    "config_version",
                    "deployment_status",
                    "since",
                    "deployment_detail",
                ),
                rows="products",
                kind="table",
                link="/console/admin/configuration-{name}",
                actions=(
                    Action(
                        "Restart its processes",
                        "POST",
                        "/admin/products/{name}/restart",
                        confirm="Restart every process of {name}?",
                    ),
                ),
            ),
        ),
    )


def configuration_slug(product: str) -> str:
    return f"configuration-{product}"


def _product_configuration(product: Product, settings: BaseModel) -> ConsolePage:
    """The settings form of one product: a field per setting, empty where the product's files
    decide (the value in force under it); versions, their differences, and roll back."""
    base = f"/admin/products/{product.name}/config"
    in_force = redacted(settings)
    fields = [
        _setting_field(name, info.annotation, info.description or "", in_force.get(name))
        for name, info in product.settings_class.model_fields.items()
    ]
    return ConsolePage(
        configuration_slug(product.name),
        f"Configuration of {product.name}",
        ADMIN,
        description="A field left empty takes the value of the product's files (shown under it). "
        "Every change is a new version; roll back to any.",
        forms=(
            Form(
                "Change settings",
                base,
                "PUT",
                fields=(*fields, Field("comment", "Why", required=False)),
                submit="Save a new version",
            ),
            Form(
                "Compare two versions",
                f"{base}/diff",
                "GET",
                fields=(
                    Field("from_version", "From version (0: the files)", "number", "0"),
                    Field("to_version", "To version", "number"),
                ),
                submit="Compare",
                answer=Answer("key", ("before", "after"), rows="changes"),
            ),
        ),
        charts=(
            Chart(
                "Versions",
                f"{base}/versions",
                x="version",
                series=("values", "changed_by", "changed_at", "comment"),
                rows="versions",
                kind="table",
                actions=(
                    Action(
                        "Roll back to this",
                        "POST",
                        f"{base}/versions/{{version}}/rollback",
                        confirm="Put version {version}'s values back in force?",
                    ),
                ),
            ),
        ),
    )


def _setting_field(name: str, annotation: Any, description: str, in_force: Any) -> Field:
    help_text = f"{description} In force: {in_force!r}.".strip()
    label = name.replace("_", " ").capitalize()
    kind, options = _field_kind(annotation)
    return Field(f"values.{name}", label, kind, options=options, required=False, help=help_text)


def _field_kind(annotation: Any) -> tuple[Any, tuple[str, ...]]:
    """The form input for a setting's type: numbers, choices, JSON for lists and maps."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if annotation is bool:
        return "select", ("true", "false")
    if annotation in (int, float):
        return "number", ()
    if typing.get_origin(annotation) is Literal:
        return "select", tuple(str(option) for option in typing.get_args(annotation))
    if annotation is str:
        return "text", ()
    return "json", ()


def _deployments(products: tuple[str, ...]) -> ConsolePage:
    return ConsolePage(
        "deployments",
        "Deployments",
        ADMIN,
        description="What was deployed where, when, by whom, and how it went.",
        forms=(
            Form(
                "Record a deployment",
                "/admin/deployments",
                fields=(
                    Field("product", "Product", "select", options=products),
                    Field("version", "Version"),
                    Field(
                        "environment", "Environment", "select", options=("dev", "staging", "prod")
                    ),
                    Field(
                        "status",
                        "Status",
                        "select",
                        options=(
                            "started",
                            "running",
                            "succeeded",
                            "failed",
                            "stopped",
                            "rolled_back",
                        ),
                    ),
                    Field("detail", "Detail", required=False),
                ),
                submit="Record",
            ),
        ),
        charts=(
            Chart(
                "Deployments",
                "/admin/deployments",
                x="product",
                series=("version", "environment", "status", "recorded_by", "recorded_at", "detail"),
                rows="deployments",
                kind="table",
            ),
        ),
    )


def _snapshots() -> ConsolePage:
    return ConsolePage(
        "snapshots",
        "Snapshots",
        ADMIN,
        description="The version of every table under a label; restoring one brings every table "
        "it recorded back to that version (tables made since are left alone).",
        forms=(
            Form(
                "Create a snapshot",
                "/admin/snapshots",
                fields=(Field("label", "Label", help="Letters, digits, `.`, `_` and `-`."),),
                submit="Create",
            ),
        ),
        charts=(
            Chart(
                "Snapshots",
                "/admin/snapshots",
                x="label",
                series=("created_at", "tables"),
                rows="snapshots",
                kind="table",
                actions=(
                    Action(
                        "Restore",
                        "POST",
                        "/admin/snapshots/{label}/restore",
                        confirm="Restore every table to snapshot {label}?",
                    ),
                ),
            ),
        ),
    )


def _sql() -> ConsolePage:
    return ConsolePage(
        "sql",
        "SQL",
        QUERY_RUN,
        description="One SELECT over the gold tables you may read, PII masked, every read "
        "audited; save it to run again or export it.",
        forms=(
            Form(
                "Run SQL",
                "/query",
                fields=(
                    Field(
                        "sql",
                        "SQL",
                        "code",
                        "select path, sum(views) as views\nfrom web_user_analytics.gold.pages\n"
                        "group by path order by views desc limit 20",
                    ),
                    Field("max_rows", "Rows at most", "number", required=False),
                ),
                submit="Run",
                # Bars of the numeric columns along the first, above every column's rows.
                answer=Answer(EVERY, (EVERY,), rows="rows", kind="bar"),
            ),
            Form(
                "Save a query",
                "/query/saved",
                fields=(
                    Field("name", "Name", help="Lower case, digits, - and _."),
                    Field("sql", "SQL", "code"),
                    Field("description", "Description", required=False),
                ),
                submit="Save",
            ),
        ),
        charts=(
            Chart(
                "Saved queries",
                "/query/saved",
                x="name",
                series=("description", "sql", "created_by", "created_at"),
                rows="queries",
                kind="table",
                actions=(
                    Action("Run", "POST", "/query/saved/{name}/run"),
                    Action("Delete", "DELETE", "/query/saved/{name}", "Delete this query?"),
                ),
            ),
        ),
    )


def _exports() -> ConsolePage:
    return ConsolePage(
        "exports",
        "Exports",
        QUERY_RUN,
        description="Tables and saved queries exported every hour or day, once per period, to a "
        "folder or a webhook.",
        forms=(
            Form(
                "Export a table",
                "/exports",
                fields=(
                    Field("name", "Name"),
                    Field("source.table", "Table", help="Its full name, as the catalog lists it."),
                    Field("source.time_column", "Time column", required=False),
                    Field("period", "Every", "select", "day", ("day", "hour")),
                    Field("format", "Format", "select", "parquet", ("parquet", "csv")),
                    Field("folder", "Folder", required=False, help="Under the exports root."),
                    Field("webhook", "Or a webhook URL", required=False),
                ),
                submit="Export",
            ),
            Form(
                "An export's periods",
                "/exports/{name}/runs",
                method="GET",
                fields=(Field("name", "Export"),),
                submit="Show",
                answer=Answer(
                    "period_start",
                    ("status", "rows", "attempts", "location", "error"),
                    rows="runs",
                ),
            ),
        ),
        charts=(
            Chart(
                "Exports",
                "/exports",
                x="name",
                series=("source", "period", "format", "destination", "created_by"),
                rows="exports",
                kind="table",
                actions=(
                    Action(
                        "Delete",
                        "DELETE",
                        "/exports/{name}",
                        "Stop and forget this export?",
                        permission=QUERY_RUN,
                    ),
                ),
            ),
        ),
    )
