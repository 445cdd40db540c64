"""What the catalog is told about a table before anyone edits it: from a product's tables (its
storage's declarations and its models' headers, `Product.tables`), the lake's schemas, and the
platform's own published tables."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from dataplatform.core.connectors.bus.kafka import undecodable_table
from dataplatform.core.connectors.lakehouse import Lakehouse, TableName, quarantine_of
from dataplatform.core.declarations import PII, Table
from dataplatform.core.product import Product

PLATFORM = "platform"
PLATFORM_OWNER = "platform-team"
UNKNOWN_TYPE = "unknown"  # a column declared before its table was first written


@dataclass(frozen=True)
class DeclaredColumn:
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeclaredTable:
    """What a product says about one of its tables, before anything was changed by hand."""

    name: str
    product: str
    description: str
    owner: str
    retention_days: int | None
    columns: tuple[DeclaredColumn, ...] = field(default=())

    @property
    def layer(self) -> str:
        return TableName.parse(self.name).layer

    @property
    def tags(self) -> list[str]:
        tags = [self.layer]
        if any(PII in column.tags for column in self.columns):
            tags.append(PII)
        return tags


def declared_tables(product: Product, lake: Lakehouse) -> list[DeclaredTable]:
    """The product's tables with the columns the lake and their declarations give, and the
    quarantine tables of its streams and models that exist in the lake."""
    tables = [_declared_table(product, table, lake) for table in product.tables]
    for name, (description, payload) in quarantine_tables(product).items():
        if lake.exists(name):
            columns = tuple(
                DeclaredColumn(column, column_type, nullable, tags=_tags(column == payload, []))
                for column, column_type, nullable in columns_of(lake.schema(name))
            )
            tables.append(
                DeclaredTable(name, product.name, description, product.owner, None, columns)
            )
    return tables


def _declared_table(product: Product, table: Table, lake: Lakehouse) -> DeclaredTable:
    name = product.table_name(table.name)
    described = {column.name: column for column in table.columns}
    schema = lake.schema(name) if lake.exists(name) else table.schema
    typed = (
        columns_of(schema)
        if schema is not None
        else [(column.name, column.type or UNKNOWN_TYPE, True) for column in table.columns]
    )
    # A PII column of a table nothing has written yet is catalogued anyway, so it is masked
    # from the first row served.
    named = {column for column, _, _ in typed}
    typed += [(column, UNKNOWN_TYPE, True) for column in table.pii if column not in named]
    columns = tuple(
        DeclaredColumn(
            column,
            column_type,
            nullable,
            described[column].description if column in described else "",
            _tags(column in table.pii, described[column].tags if column in described else ()),
        )
        for column, column_type, nullable in typed
    )
    owner = table.owner or product.owner
    return DeclaredTable(
        name, product.name, table.description, owner, table.retention_days, columns
    )


def quarantine_tables(product: Product) -> dict[str, tuple[str, str]]:
    """Where the product's refused rows go: `{table: (description, column holding the row)}`,
    one per stream (validation), one per model (its error checks) and, on the Kafka bus, one per
    table an ingestion worker writes (messages that are not rows); made on first use."""
    streams = {
        quarantine_of(product.namespace, stream.name): (
            f"Events of stream `{stream.name}` accepted but refused by validation, with the reason.",
            "raw",
        )
        for stream in product.streams
    }
    models = {
        quarantine_of(product.namespace, model.name): (
            f"Rows of `{model.name}` that failed its error checks, with the check that caught them.",
            "row",
        )
        for model in product.model_list()
    }
    # The ingestion workers write each stream's bronze table and its validation quarantine.
    ingested = [*(product.table_name(stream.table) for stream in product.streams), *streams]
    undecodable = {
        undecodable_table(table): (
            f"Kafka messages on their way into `{table}` that are not rows (another producer's, "
            "a tombstone, a damaged one), with their topic, partition, offset and the reason.",
            "value",
        )
        for table in ingested
    }
    return streams | models | undecodable


# The platform publishes its audit log and lineage as gold tables (docs/architecture.md, the lake).
# Who acted is a person's user name (or a key named after one), and an entry's detail may name
# the user an admin changed: both are PII. Lineage describes tables, not people.
_PLATFORM_TABLES: Mapping[str, tuple[str, Mapping[str, tuple[str, bool]]]] = {
    "platform.gold.audit_log": (
        "Every login, admin change, key creation and data read, hash-chained.",
        {
            "seq": ("Position in the chain.", False),
            "recorded_at": ("When it happened (UTC).", False),
            "actor": ("The user or API key that acted.", True),
            "actor_kind": ("user, api_key, cli or anonymous.", False),
            "action": ("What was done, dotted: auth.login, data.read, catalog.update...", False),
            "outcome": ("success or failure.", False),
            "method": ("HTTP method of the request.", False),
            "route": ("Route template of the request.", False),
            "status": ("HTTP status answered.", False),
            "table_name": ("The table read or changed.", False),
            "row_count": ("Rows returned by a data read.", False),
            "pii": ("Whether PII was returned unmasked.", False),
            "request_id": ("The request's X-Request-ID.", False),
            "detail": ("What changed, as JSON; may name the user it was about.", True),
            "prev_hash": ("Hash of the entry before.", False),
            "hash": ("SHA-256 of this entry and prev_hash.", False),
        },
    ),
    "platform.gold.lineage": (
        "Column-level lineage of every model: which source column each output column comes from.",
        {
            "edge_id": ("The edge's id in the metadata store (rising, never reused).", False),
            "model": ("The model (its output table) the edge belongs to.", False),
            "source_table": ("The table read.", False),
            "source_column": ("The column read (`*` for a value computed from rows).", False),
            "target_table": ("The table written.", False),
            "target_column": ("The column written.", False),
            "recorded_at": ("When the model's lineage was recorded (UTC).", False),
        },
    ),
}
PLATFORM_TABLES = tuple(_PLATFORM_TABLES)


def platform_table(name: str, schema: pa.Schema) -> DeclaredTable:
    """One of the platform's published tables, described, with the columns of `schema`."""
    description, known = _PLATFORM_TABLES[name]
    columns = tuple(
        DeclaredColumn(
            column,
            column_type,
            nullable,
            known[column][0] if column in known else "",
            (PII,) if column in known and known[column][1] else (),
        )
        for column, column_type, nullable in columns_of(schema)
    )
    return DeclaredTable(name, PLATFORM, description, PLATFORM_OWNER, None, columns)


def columns_of(schema: pa.Schema) -> list[tuple[str, str, bool]]:
    return [(f.name, str(f.type), f.nullable) for f in schema]


def _tags(pii: bool, tags: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*([PII] if pii else []), *tags]))
