"""The data catalog: every table of every product, with its columns, tags, owner, statistics and
lineage.

Tables are registered from the products' declarations (table, PII tags, retention) and their models'
headers (column descriptions and tags) whenever a product starts; statistics and columns follow
the Delta log (`refresh_stats`); what a data steward changes through the API is kept as
overrides, which win over the declarations and survive re-registration.
"""

import logging
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.declarations import PII
from dataplatform.core.decorators import retry
from dataplatform.core.errors import (
    CommitConflictError,
    InvalidRequestError,
    NotFoundError,
    did_you_mean,
)
from dataplatform.core.processing import ModelGraph, RunLog, RunResult, quarantine_table
from dataplatform.core.product import Product
from dataplatform.platform.catalog._declared import (
    PLATFORM_TABLES,
    DeclaredTable,
    columns_of,
    declared_tables,
    platform_table,
)
from dataplatform.platform.catalog._edits import (
    TableChanges,
    UnmaskingRefusedError,
    apply_changes,
    unmasked_columns,
)
from dataplatform.platform.catalog._entries import TableEntry, table_entry
from dataplatform.platform.catalog._lineage import (
    Direction,
    Lineage,
    LineageNode,
    column_edges,
    column_node,
    table_edges,
    walk,
)
from dataplatform.platform.catalog._records import (
    CatalogColumnRecord,
    CatalogTableRecord,
    effective,
)
from dataplatform.platform.catalog._stats import TableStats, read_stats

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchHit:
    """A table that matched a search, and what of it matched (`name`, `description`,
    `tag:<tag>`, `column:<name>`, `column_tag:<name>`)."""

    table: str
    product: str
    layer: str
    description: str
    matched: list[str]


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[SearchHit]
    hint: str | None  # "Did you mean ...?" when nothing matched a name that is close to one

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class DataCatalog:
    """Registers tables, keeps their statistics, and answers what the catalog knows about them.

    Keep one per process: it holds each table's Delta log open, so a refresh only reads the
    commits made since the last one.
    """

    def __init__(self, store: MetadataStore, lake: Lakehouse) -> None:
        self.store = store
        self.lake = lake
        self.runs = RunLog(store)
        self._graphs: dict[str, ModelGraph] = {}
        self._handles: dict[str, DeltaTable] = {}
        self._platform_registered: set[str] = set()
        self._lock = threading.Lock()

    # --- registration ---------------------------------------------------------------------------

    def register_products(self, products: Sequence[Product]) -> None:
        """Register every table of every product, and its model graph for lineage (idempotent;
        run when products start)."""
        for product in products:
            self._graphs[product.name] = product.model_graph()
            for table in declared_tables(product, self.lake):
                self.register_table(table)
        self._register_platform_tables()

    @retry(attempts=5)
    def register_table(self, table: DeclaredTable) -> None:
        """Create or refresh one table's declared facts; overrides made by hand are kept."""
        try:
            with self.store.session() as session:
                _upsert(session, table)
        except IntegrityError as exc:  # another process registered it at the same moment
            raise CommitConflictError(f"`{table.name}` was registered concurrently") from exc

    def record_runs(self, product: Product, results: Sequence[RunResult]) -> list[str]:
        """Bring the catalog up to date with what a run of `product`'s models wrote; returns the
        tables refreshed."""
        written = [result.model for result in results if result.status == "succeeded"]
        failed = [result.model for result in results if result.status == "failed"]
        if failed:  # its rows went to a quarantine table, perhaps made just now
            self.register_products([product])
            written += [quarantine_table(model) for model in failed]
        return self.refresh_stats(written) if written else []

    # --- statistics -----------------------------------------------------------------------------

    def refresh_stats(self, tables: Sequence[str] | None = None) -> list[str]:
        """Read the Delta log of `tables` (by default every catalogued table) and store their
        version, rows, bytes, files, last update and columns; a table whose version did not
        change costs one look at its log. Returns the tables whose statistics changed."""
        self._register_platform_tables()
        with self.store.session() as session:
            rows = session.execute(select(CatalogTableRecord.name, CatalogTableRecord.version))
            versions = {name: version for name, version in rows}
        names = sorted(versions) if tables is None else list(dict.fromkeys(tables))
        fresh: dict[str, tuple[TableStats, list[tuple[str, str, bool]]]] = {}
        for name in names:
            if name not in versions:
                logger.warning(
                    "table is not catalogued; register its product first", extra={"table": name}
                )
                continue
            with self._lock:
                handle = self._handle(name)
                if handle is None or handle.version() == versions[name]:
                    continue
                schema = pa.schema(handle.schema().to_arrow())
                fresh[name] = (read_stats(handle), columns_of(schema))
        if fresh:
            self._store_stats(fresh)
        return sorted(fresh)

    @retry(attempts=5)
    def _store_stats(
        self, fresh: dict[str, tuple[TableStats, list[tuple[str, str, bool]]]]
    ) -> None:
        now = datetime.now(UTC)
        try:
            with self.store.session() as session:
                for name, (stats, columns) in fresh.items():
                    record = session.get_one(CatalogTableRecord, name)
                    record.version = stats.version
                    record.row_count = stats.row_count
                    record.size_bytes = stats.size_bytes
                    record.file_count = stats.file_count
                    record.last_modified = stats.last_modified
                    record.stats_at = now
                    _sync_columns(session, name, columns)
        except IntegrityError as exc:  # another process added the same new column first
            raise CommitConflictError(f"columns of {sorted(fresh)} changed concurrently") from exc

    def _handle(self, name: str) -> DeltaTable | None:
        handle = self._handles.get(name)
        if handle is not None:
            handle.update_incremental()
            return handle
        if not self.lake.exists(name):
            return None
        handle = self._handles[name] = self.lake.table(name)
        return handle

    def _register_platform_tables(self) -> None:
        for name in PLATFORM_TABLES:
            if name not in self._platform_registered and self.lake.exists(name):
                self.register_table(platform_table(name, self.lake.schema(name)))
                self._platform_registered.add(name)

    # --- reading --------------------------------------------------------------------------------

    def list_tables(
        self, product: str | None = None, layer: str | None = None, tag: str | None = None
    ) -> list[TableEntry]:
        """Catalogued tables by name, of one product, one layer, or with one tag."""
        query = select(CatalogTableRecord).order_by(CatalogTableRecord.name)
        if product is not None:
            query = query.where(CatalogTableRecord.product == product)
        if layer is not None:
            query = query.where(CatalogTableRecord.layer == layer)
        now = datetime.now(UTC)
        with self.store.session() as session:
            records = session.scalars(query).all()
            columns = _columns_by_table(session, [record.name for record in records])
            entries = [table_entry(r, columns.get(r.name, []), now) for r in records]
        return [entry for entry in entries if tag is None or tag in entry.tags]

    def get_table(self, name: str) -> TableEntry:
        """One table with its columns; 404 with a suggestion when it is not catalogued."""
        with self.store.session() as session:
            record = self._record(session, name)
            columns = _columns_by_table(session, [name]).get(name, [])
            return table_entry(record, columns, datetime.now(UTC))

    def search(self, query: str) -> SearchResult:
        """Tables whose name, description, tags, column names or column tags contain `query`
        (case-insensitive), closest first."""
        wanted = query.strip().lower()
        if not wanted:
            raise InvalidRequestError("The search query is empty; send `q=<text>`.", field="q")
        entries = self.list_tables()
        ranked = []
        for entry in entries:
            matched = _matches(entry, wanted)
            if matched:
                short = entry.name.split(".", 2)[2]
                exact = wanted in (entry.name.lower(), short.lower())
                rank = (0 if exact else 1 if "name" in matched else 2, entry.name)
                hit = SearchHit(entry.name, entry.product, entry.layer, entry.description, matched)
                ranked.append((rank, hit))
        hits = [hit for _, hit in sorted(ranked, key=lambda pair: pair[0])]
        hint = None
        if not hits:
            names = [entry.name for entry in entries]
            names += [entry.name.split(".", 2)[2] for entry in entries]
            hint = did_you_mean(query.strip(), names).strip() or None
        return SearchResult(query, hits, hint)

    def pii_columns(self, table: str) -> frozenset[str]:
        """Columns of `table` whose tags (declared or changed by hand) include `pii`."""
        with self.store.session() as session:
            records = session.scalars(
                select(CatalogColumnRecord).where(CatalogColumnRecord.table_name == table)
            )
            return frozenset(record.name for record in records if PII in effective(record, "tags"))

    # --- changing -------------------------------------------------------------------------------

    def update_table(
        self, name: str, changes: TableChanges, *, may_unmask: bool = False
    ) -> tuple[TableEntry, dict[str, Any]]:
        """Apply a data steward's changes as overrides; returns the table as it is now and what
        changed (`{attribute: {from, to}}`, columns under `columns`).

        Removing a column's `pii` tag unmasks it for every reader: without `may_unmask` such a
        change raises `UnmaskingRefusedError` and nothing is changed.
        """
        with self.store.session() as session:
            self._record(session, name)  # a 404 before anything else
        self.refresh_stats([name])  # so columns the table gained since can be described
        with self.store.session() as session:
            record = self._record(session, name, for_update=True)
            columns = _columns_by_table(session, [name]).get(name, [])
            changed = apply_changes(record, {column.name: column for column in columns}, changes)
            unmasked = unmasked_columns(changed)
            if unmasked and not may_unmask:
                raise UnmaskingRefusedError(name, unmasked)  # the session rolls the change back
            session.flush()
            return table_entry(record, columns, datetime.now(UTC)), changed

    # --- lineage --------------------------------------------------------------------------------

    def get_lineage(
        self,
        table: str,
        direction: Direction = "both",
        depth: int = 1,
        column: str | None = None,
    ) -> Lineage:
        """What `table` (or its `column`) is computed from and what is computed from it, up to
        `depth` hops: tables from every registered product's model graph and the recorded
        column lineage; a column follows column edges only."""
        if depth < 1:
            raise InvalidRequestError(f"`depth` must be 1 or more, not {depth}.", field="depth")
        if direction not in ("upstream", "downstream", "both"):
            raise InvalidRequestError(
                f"`direction` must be upstream, downstream or both, not `{direction}`.",
                field="direction",
            )
        recorded = self.runs.lineage()
        tables = table_edges(self._graphs.values(), recorded)
        with self.store.session() as session:
            catalogued = set(session.scalars(select(CatalogTableRecord.name)))
        known = catalogued | {edge.source for edge in tables} | {edge.target for edge in tables}
        if table not in known:
            raise NotFoundError(
                f"No table `{table}` in the catalog or its lineage.{did_you_mean(table, known)}"
            )
        if column is None:
            reached, followed = walk(table, tables, direction, depth)
            pairs = {(edge.source, edge.target) for edge in followed}
            nodes = [
                LineageNode(name, name, None, side, distance)
                for name, (side, distance) in sorted(reached.items())
            ]
            edges = [e for e in recorded if (e.source_table, e.target_table) in pairs]
            return Lineage(table, None, direction, depth, nodes, followed, sorted(edges))
        self._require_column(table, column, recorded)
        columns = column_edges(recorded)
        located = {
            column_node(e.source_table, e.source_column): (e.source_table, e.source_column)
            for e in recorded
        } | {
            column_node(e.target_table, e.target_column): (e.target_table, e.target_column)
            for e in recorded
        }
        root = column_node(table, column)
        reached, followed = walk(root, columns, direction, depth)
        nodes = [
            LineageNode(node, *located.get(node, (table, column)), side, distance)
            for node, (side, distance) in sorted(reached.items())
        ]
        return Lineage(table, column, direction, depth, nodes, followed)

    def _require_column(self, table: str, column: str, recorded: Sequence[Any]) -> None:
        known = {e.source_column for e in recorded if e.source_table == table}
        known |= {e.target_column for e in recorded if e.target_table == table}
        with self.store.session() as session:
            known |= set(
                session.scalars(
                    select(CatalogColumnRecord.name).where(CatalogColumnRecord.table_name == table)
                )
            )
        if column not in known:
            raise NotFoundError(
                f"Table `{table}` has no column `{column}` in the catalog or its lineage."
                f"{did_you_mean(column, known)}"
            )

    def _record(
        self, session: Session, name: str, *, for_update: bool = False
    ) -> CatalogTableRecord:
        record = session.get(CatalogTableRecord, name, with_for_update=for_update)
        if record is None:
            known = list(session.scalars(select(CatalogTableRecord.name)))
            raise NotFoundError(
                f"No table `{name}` in the catalog.{did_you_mean(name, known)} "
                "GET /catalog/tables lists them; GET /catalog/search?q= finds them."
            )
        return record


def _matches(entry: TableEntry, wanted: str) -> list[str]:
    matched = []
    if wanted in entry.name.lower():
        matched.append("name")
    if wanted in entry.description.lower():
        matched.append("description")
    matched += [f"tag:{tag}" for tag in entry.tags if wanted in tag.lower()]
    for column in entry.columns:
        if wanted in column.name.lower():
            matched.append(f"column:{column.name}")
        if any(wanted in tag.lower() for tag in column.tags):
            matched.append(f"column_tag:{column.name}")
    return matched


def _columns_by_table(
    session: Session, tables: Sequence[str]
) -> dict[str, list[CatalogColumnRecord]]:
    found: dict[str, list[CatalogColumnRecord]] = {}
    if not tables:
        return found
    query = (
        select(CatalogColumnRecord)
        .where(CatalogColumnRecord.table_name.in_(tables))
        .order_by(CatalogColumnRecord.position)
    )
    for record in session.scalars(query):
        found.setdefault(record.table_name, []).append(record)
    return found


def _upsert(session: Session, table: DeclaredTable) -> None:
    record = session.get(CatalogTableRecord, table.name)
    if record is None:
        record = CatalogTableRecord(name=table.name, overrides={}, registered_at=datetime.now(UTC))
        session.add(record)
    record.product = table.product
    record.layer = table.layer
    record.description = table.description
    record.owner = table.owner
    record.tags = table.tags
    record.retention_days = table.retention_days
    existing = {
        column.name: column
        for column in session.scalars(
            select(CatalogColumnRecord).where(CatalogColumnRecord.table_name == table.name)
        )
    }
    for position, column in enumerate(table.columns):
        column_record = existing.pop(column.name, None)
        if column_record is None:
            column_record = CatalogColumnRecord(
                table_name=table.name, name=column.name, overrides={}
            )
            session.add(column_record)
        column_record.position = position
        column_record.type = column.type
        column_record.nullable = column.nullable
        column_record.description = column.description
        column_record.tags = list(column.tags)
    for gone in existing.values():  # the table no longer has these columns
        session.delete(gone)


def _sync_columns(session: Session, table: str, columns: list[tuple[str, str, bool]]) -> None:
    """Take the lake's column types and new columns; declared columns it lacks stay, after them
    (registration decides what a table no longer has)."""
    existing = {
        column.name: column
        for column in session.scalars(
            select(CatalogColumnRecord).where(CatalogColumnRecord.table_name == table)
        )
    }
    for position, (name, column_type, nullable) in enumerate(columns):
        record = existing.pop(name, None)
        if record is None:
            record = CatalogColumnRecord(
                table_name=table, name=name, description="", tags=[], overrides={}
            )
            session.add(record)
        record.position = position
        record.type = column_type
        record.nullable = nullable
    for offset, record in enumerate(sorted(existing.values(), key=lambda r: r.position)):
        record.position = len(columns) + offset
