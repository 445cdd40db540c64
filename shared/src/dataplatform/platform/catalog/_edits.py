"""Hand-made changes to the catalog: validated, and kept as overrides over the declared values.

A field left out of a change is left alone; a field sent as null drops its override, so the
declared value (from the product or its model) is in force again.
"""

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from dataplatform.core.access import PII_ADMIN
from dataplatform.core.declarations import PII
from dataplatform.core.errors import InvalidRequestError, PermissionDeniedError, did_you_mean
from dataplatform.platform.catalog._entries import COLUMN_EDITABLE, TABLE_EDITABLE
from dataplatform.platform.catalog._records import (
    CatalogColumnRecord,
    CatalogTableRecord,
    effective,
)

MAX_RETENTION_DAYS = 36_500
Tag = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_:-]{0,49}$")]
Tags = Annotated[list[Tag], Field(max_length=20)]


class ColumnChanges(BaseModel):
    """New values for one column."""

    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, Field(max_length=4000)] | None = None
    tags: Tags | None = None


class TableChanges(BaseModel):
    """New values for a table and its columns (by column name)."""

    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, Field(max_length=4000)] | None = None
    owner: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    tags: Tags | None = None
    retention_days: Annotated[int, Field(gt=0, le=MAX_RETENTION_DAYS)] | None = None
    columns: dict[str, ColumnChanges] = Field(default_factory=dict)

    @field_validator("tags")
    @classmethod
    def _pii_belongs_to_columns(cls, tags: list[str] | None) -> list[str] | None:
        if tags is not None and PII in tags:
            raise ValueError(
                "a table is tagged `pii` when one of its columns is; tag the column instead, "
                'e.g. {"columns": {"email": {"tags": ["pii"]}}}'
            )
        return tags


class UnmaskingRefusedError(PermissionDeniedError):
    """A change would remove the `pii` tag of `columns` and the caller lacks `pii:admin`."""

    code = "unmasking_refused"

    def __init__(self, table: str, columns: list[str]) -> None:
        named = ", ".join(f"`{column}`" for column in columns)
        super().__init__(
            f"Removing the `{PII}` tag from {named} of `{table}` would show those columns "
            f"unmasked to every reader; that needs the permission `{PII_ADMIN}` (role `admin`). "
            "Nothing was changed; ask an admin to make this change."
        )
        self.table = table
        self.columns = columns


def unmasked_columns(changed: Mapping[str, Any]) -> list[str]:
    """Columns whose `pii` tag a change (as `apply_changes` reports it) removed."""
    return sorted(
        name
        for name, diff in changed.get("columns", {}).items()
        if "tags" in diff and PII in diff["tags"]["from"] and PII not in diff["tags"]["to"]
    )


def apply_changes(
    table: CatalogTableRecord,
    columns: Mapping[str, CatalogColumnRecord],
    changes: TableChanges,
) -> dict[str, Any]:
    """Set the overrides `changes` asks for; returns what changed, `{attribute: {from, to}}`,
    with the columns' changes under `columns`. Refuses a column the table does not have."""
    if not changes.model_fields_set - {"columns"} and not changes.columns:
        raise InvalidRequestError(
            f"The change to `{table.name}` sets nothing; send at least one of "
            f"{', '.join(TABLE_EDITABLE)} or columns.",
        )
    for name in changes.columns:
        if name not in columns:
            known = sorted(columns)
            raise InvalidRequestError(
                f"`{table.name}` has no column `{name}`.{did_you_mean(name, known)} "
                f"Its columns: {', '.join(known) or 'none yet'}.",
                field=f"columns.{name}",
            )
    changed = _override(table, changes, TABLE_EDITABLE)
    column_changes = {
        name: diff
        for name, column_change in changes.columns.items()
        if (diff := _override(columns[name], column_change, COLUMN_EDITABLE))
    }
    if column_changes:
        changed["columns"] = column_changes
    return changed


def _override(
    record: CatalogTableRecord | CatalogColumnRecord, changes: BaseModel, attributes: Iterable[str]
) -> dict[str, Any]:
    diff = {}
    overrides = dict(record.overrides or {})
    for attribute in attributes:
        if attribute not in changes.model_fields_set:
            continue
        before = effective(record, attribute)
        value = getattr(changes, attribute)
        if value is None:
            overrides.pop(attribute, None)
        else:
            overrides[attribute] = list(dict.fromkeys(value)) if isinstance(value, list) else value
        # A new dict: SQLAlchemy does not see changes made inside a JSON value.
        record.overrides = dict(overrides)
        after = effective(record, attribute)
        if after != before:
            diff[attribute] = {"from": before, "to": after}
    return diff
