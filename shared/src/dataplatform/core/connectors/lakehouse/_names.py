"""Table names: `<product>.<layer>.<table>`, stored at `<lake_root>/<product>/<layer>/<table>`."""

import re
from typing import NamedTuple

from dataplatform.core.errors import InvalidNameError

LAYERS = ("bronze", "silver", "gold", "quarantine")
_PART = re.compile(r"^[a-z][a-z0-9_]*$")


class TableName(NamedTuple):
    """A fully qualified table name."""

    product: str
    layer: str
    table: str

    @classmethod
    def parse(cls, name: "str | TableName") -> "TableName":
        """Parse `product.layer.table`, refusing anything else with the reason."""
        if isinstance(name, TableName):
            return name
        parts = name.split(".")
        if len(parts) != 3:
            raise InvalidNameError(
                f"Table name `{name}` must have three parts, `<product>.<layer>.<table>`, "
                "for example `mobile_user_analytics.silver.sessions`."
            )
        product, layer, table = parts
        for part in parts:
            if not _PART.match(part):
                raise InvalidNameError(
                    f"`{part}` in table name `{name}` must be snake_case: lower-case letters, "
                    "digits and underscores, starting with a letter."
                )
        if layer not in LAYERS:
            raise InvalidNameError(
                f"Layer `{layer}` in table name `{name}` is not one of {', '.join(LAYERS)}."
            )
        return cls(product, layer, table)

    def __str__(self) -> str:
        return f"{self.product}.{self.layer}.{self.table}"

    @property
    def relative_path(self) -> str:
        return f"{self.product}/{self.layer}/{self.table}"


def quarantine_of(product: str, refused_by: str) -> str:
    """Where `product`'s refused rows go: `<product>.quarantine.<stream>` for a stream's events
    refused by validation, `<product>.quarantine.<layer>_<table>` for rows failing the error
    checks of the model writing `<layer>.<table>`."""
    return str(TableName.parse(f"{product}.quarantine.{refused_by.replace('.', '_')}"))
