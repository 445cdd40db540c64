"""`/exports`: scheduled exports of a table or a saved query, each period once, to a folder
under the platform's `query.exports_root` or to a webhook; and what each period did.

The source is checked when the export is made, with the maker's permissions, as `POST /query`
checks SQL; the platform's jobs then run it every period (`platform/exports`).
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dataplatform.core.access import CATALOG_READ, PII_READ, QUERY_RUN, Principal, require
from dataplatform.core.bounds import ReportTime
from dataplatform.core.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from dataplatform.core.serving import JSONOut
from dataplatform.platform.exports import Export, Exports, period_start_of
from dataplatform.platform.query import check_query
from dataplatform.platform.routes.query import resolver
from dataplatform.platform.services import Services, services

ExportName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]


class TableSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table: str = Field(max_length=300, description="A table's full name, as the catalog lists it.")
    time_column: str | None = Field(
        None, max_length=200, description="Each period exports the rows whose time falls in it."
    )


class QuerySource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(max_length=100, description="A saved query's name: its answer each period.")


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ExportName
    source: TableSource | QuerySource
    period: Literal["hour", "day"] = "day"
    format: Literal["parquet", "csv"] = "parquet"
    folder: ExportName | None = Field(
        None, description="A folder under the platform's exports root (`query.exports_root`)."
    )
    webhook: str | None = Field(
        None, pattern=r"^https?://", max_length=2000, description="POST each period's rows here."
    )
    secret_env: str | None = Field(
        None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="The environment variable holding the webhook's HMAC secret.",
    )
    starts_at: ReportTime | None = Field(
        None, description="The first period exported is the one holding this; now if absent."
    )
    include_pii: bool = Field(
        False, description="Export PII unmasked (needs `pii:read`); masked otherwise."
    )

    @model_validator(mode="after")
    def _one_destination(self) -> Self:
        if (self.folder is None) == (self.webhook is None):
            raise ValueError("give either a `folder` (under the exports root) or a `webhook`")
        return self


def exports_router() -> APIRouter:
    router = APIRouter(prefix="/exports", tags=["exports"])
    can_read = require(CATALOG_READ)

    @router.post("", status_code=201, summary="Export a table or a saved query every period")
    def create_export(
        body: ExportIn, request: Request, caller: Annotated[Principal, require(QUERY_RUN)]
    ) -> JSONOut:
        platform = services(request)
        if body.include_pii and not caller.can(PII_READ):
            raise PermissionDeniedError(
                f"`{caller.subject}` lacks `{PII_READ}`, which exporting PII unmasked needs."
            )
        sql, tables = _checked_source(platform, caller, body.source)
        starts_at = period_start_of(body.starts_at or datetime.now(UTC), body.period)
        export = Export(
            name=body.name,
            source=body.source.model_dump_json(),
            sql=sql,
            tables=dict(tables),
            time_column=body.source.time_column if isinstance(body.source, TableSource) else None,
            format=body.format,
            destination=body.webhook or _folder(platform, body.folder),
            secret_env=body.secret_env,
            period=body.period,
            include_pii=body.include_pii,
            starts_at=starts_at,
            created_by=caller.subject,
            created_at=datetime.now(UTC),
        )
        Exports(platform.store).create(export)
        platform.record(request, caller, "export.create", detail={"name": body.name})
        return JSONOut(export.as_json(), status_code=201)

    @router.get("", dependencies=[can_read], summary="Exports, by name")
    def list_exports(request: Request) -> JSONOut:
        found = Exports(services(request).store).all()
        return JSONOut({"exports": [export.as_json() for export in found]})

    @router.get(
        "/{name}/runs", dependencies=[can_read], summary="An export's periods, latest first"
    )
    def export_runs(name: str, request: Request) -> JSONOut:
        exports = Exports(services(request).store)
        exports.get(name)
        return JSONOut({"export": name, "runs": [run.as_json() for run in exports.runs(name)]})

    @router.delete("/{name}", status_code=204, summary="Stop and forget an export")
    def delete_export(
        name: str, request: Request, caller: Annotated[Principal, require(QUERY_RUN)]
    ) -> Response:
        platform = services(request)
        Exports(platform.store).delete(name)
        platform.record(request, caller, "export.delete", detail={"name": name})
        return Response(status_code=204)

    return router


def _checked_source(
    platform: Services, caller: Principal, source: TableSource | QuerySource
) -> tuple[str, dict[str, str]]:
    resolve = resolver(platform, caller)
    if isinstance(source, QuerySource):
        checked = check_query(platform.saved_queries.get(source.query).sql, resolve)
        return checked.sql, dict(checked.tables)
    try:
        platform.catalog.get_table(source.table)
    except NotFoundError as missing:
        raise InvalidRequestError(str(missing), field="body.source.table") from None
    table = resolve(source.table)
    if source.time_column is None:
        return "select * from t0", {"t0": table}
    columns = [column.name for column in platform.catalog.get_table(table).columns]
    if source.time_column not in columns:
        raise InvalidRequestError(
            f"`{table}` has no column `{source.time_column}`; it has {', '.join(columns)}.",
            field="body.source.time_column",
        )
    quoted = '"' + source.time_column.replace('"', '""') + '"'
    return f"select * from t0 where {quoted} >= $start and {quoted} < $end", {"t0": table}


def _folder(platform: Services, folder: str | None) -> str:
    assert folder is not None  # `ExportIn` holds a folder or a webhook
    root = platform.settings.query.exports_root
    if "://" in root:  # a bucket: `s3://exports/prefix`
        return f"{root.rstrip('/')}/{folder}"
    return str((Path(root) / folder).absolute())
