"""`/catalog`: browse, search and curate the catalog, and follow lineage."""

import base64
import binascii
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from dataplatform.core.access import (
    CATALOG_READ,
    CATALOG_WRITE,
    PII_ADMIN,
    Principal,
    product_permission,
    require,
)
from dataplatform.core.connectors.lakehouse import LAYERS
from dataplatform.core.errors import InvalidRequestError, PermissionDeniedError
from dataplatform.core.serving import JSONOut, gold_rows
from dataplatform.platform.catalog import (
    Direction,
    TableChanges,
    UnmaskingRefusedError,
    unmasked_columns,
)
from dataplatform.platform.services import services

MAX_PAGE_TABLES = 500
MAX_LINEAGE_DEPTH = 20
MAX_SAMPLE_ROWS = 100
Layer = Literal[LAYERS]  # type: ignore[valid-type]


def catalog_router() -> APIRouter:
    """`/catalog`: tables, search, edits and lineage."""
    router = APIRouter(prefix="/catalog", tags=["catalog"])
    can_read = require(CATALOG_READ)

    @router.get("/tables", dependencies=[can_read], summary="Catalogued tables, filtered and paged")
    def list_tables(
        request: Request,
        product: str | None = None,
        layer: Layer | None = None,
        tag: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_TABLES)] = 100,
        cursor: str | None = None,
    ) -> JSONOut:
        entries = services(request).catalog.list_tables(product, layer, tag)
        if cursor is not None:
            after = _decode_cursor(cursor)
            entries = [entry for entry in entries if entry.name > after]
        page = entries[:limit]
        return JSONOut(
            {
                "tables": [entry.as_json(with_columns=False) for entry in page],
                "next_cursor": _encode_cursor(page[-1].name) if len(entries) > limit else None,
            }
        )

    @router.get(
        "/tables/{name}",
        dependencies=[can_read],
        summary="One table: columns, tags, owner, retention, statistics and freshness",
    )
    def get_table(name: str, request: Request) -> JSONOut:
        catalog = services(request).catalog
        entry = catalog.get_table(name)  # a 404 before the lake is looked at
        if catalog.refresh_stats([name]):
            entry = catalog.get_table(name)
        return JSONOut(entry.as_json())

    @router.patch(
        "/tables/{name}",
        summary="Change a table's description, owner, tags, retention or its columns'",
        description=(
            "Fields left out are left alone; a field sent as null puts back the value the "
            "product declares. Tagging a column `pii` masks it for callers without `pii:read`; "
            "removing the tag unmasks it for every reader, so that needs `pii:admin` too."
        ),
    )
    def update_table(
        name: str,
        changes: TableChanges,
        request: Request,
        caller: Annotated[Principal, require(CATALOG_WRITE)],
    ) -> JSONOut:
        platform = services(request)
        try:
            entry, changed = platform.catalog.update_table(
                name, changes, may_unmask=caller.can(PII_ADMIN)
            )
        except UnmaskingRefusedError as refused:
            _record_unmasking(request, caller, name, refused.columns, refused=True)
            raise
        if changed:
            platform.record(request, caller, "catalog.update", table=name, detail=changed)
        unmasked = unmasked_columns(changed)
        if unmasked:
            _record_unmasking(request, caller, name, unmasked, refused=False)
        if any("tags" in column for column in changed.get("columns", {}).values()):
            # Masking follows at once here; other processes within their cache time.
            platform.access.forget_pii(name)
        return JSONOut({"table": entry.as_json(), "changed": changed})

    @router.get(
        "/tables/{name}/sample",
        summary="A few of a table's rows, PII masked for callers without pii:read",
    )
    async def sample_rows(
        name: str,
        request: Request,
        caller: Annotated[Principal, require(CATALOG_READ)],
        limit: Annotated[int, Query(ge=1, le=MAX_SAMPLE_ROWS)] = 20,
    ) -> JSONOut:
        entry = services(request).catalog.get_table(name)
        needed = product_permission(entry.product, "read")
        if not caller.can(needed):
            raise PermissionDeniedError(
                f"`{caller.subject}` lacks `{needed}`, which reading rows of `{name}` needs."
            )
        rows = await gold_rows(
            request,
            caller,
            "select * from sampled limit $limit",
            {"sampled": name},
            {"limit": limit},
        )
        return JSONOut({"table": name, "rows": list(rows)})

    @router.get("/search", dependencies=[can_read], summary="Find tables by name, tag or column")
    def search(request: Request, q: Annotated[str, Query(min_length=1, max_length=200)]) -> JSONOut:
        return JSONOut(services(request).catalog.search(q).as_json())

    @router.get(
        "/lineage/{name}",
        dependencies=[can_read],
        summary="What a table or column comes from and feeds, up to `depth` hops",
    )
    def lineage(
        name: str,
        request: Request,
        direction: Direction = "both",
        depth: Annotated[int, Query(ge=1, le=MAX_LINEAGE_DEPTH)] = 1,
        column: str | None = None,
    ) -> JSONOut:
        found = services(request).catalog.get_lineage(name, direction, depth, column)
        return JSONOut(found.as_json())

    return router


def _record_unmasking(
    request: Request, caller: Principal, table: str, columns: list[str], *, refused: bool
) -> None:
    """Audit an attempt to unmask PII on its own, so an auditor finds every one by action."""
    services(request).record(
        request,
        caller,
        "catalog.unmask",
        table=table,
        outcome="failure" if refused else "success",
        status=403 if refused else 200,
        detail={"columns": columns},
    )


def _encode_cursor(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidRequestError(
            "`cursor` is not a cursor this API gave out; pass `next_cursor` from the previous page.",
            field="query.cursor",
        ) from None
