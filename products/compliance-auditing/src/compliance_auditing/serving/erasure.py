"""`POST /compliance/erasure`: erase a person from every product; `GET /compliance/erasure`
and `/compliance/erasure/{request_id}`: the requests and their reports.

The id to erase travels in the body, never in a URL (URLs are logged); the report keeps only
its SHA-256. Erasures run one at a time in a process: two of them vacuuming the same tables
would only race each other.
"""

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request

from compliance_auditing.erasure import as_answer, erase
from compliance_auditing.serving._access import Reader, Writer
from compliance_auditing.serving._common import SubjectIn, filtered
from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.errors import NotFoundError
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page, gold_rows, lake_of

RequestId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{32}$", description="The request_id the POST answered.")
]

_one_at_a_time = asyncio.Lock()


def erasure_router(context: ProductContext[ComplianceAuditingSettings]) -> APIRouter:
    """`POST /erasure` and the erasure requests, kept in the product's `gold.erasure_requests`."""
    router = APIRouter()
    requests_table = context.table("gold.erasure_requests")
    tables = {"requests": requests_table}

    @router.post("/erasure", status_code=201, summary="Erase a person from every product's tables")
    async def request_erasure(body: SubjectIn, request: Request, caller: Writer) -> JSONOut:
        async with _one_at_a_time:
            report = await erase(request, caller, lake_of(request), body.user_id, requests_table)
        return JSONOut(as_answer(report.row()), status_code=201)

    @router.get("/erasure", summary="Erasure requests, newest first")
    async def list_erasures(
        request: Request,
        caller: Reader,
        status: Literal["running", "done", "incomplete", "failed"] | None = None,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        sql, params = filtered(
            "select * from requests",
            [("status", "status = $status", status)],
            "order by requested_at desc, request_id",
        )
        page = await gold_page(request, caller, sql, tables, params, limit=limit, cursor=cursor)
        return JSONOut({**page, "rows": [as_answer(dict(row)) for row in page["rows"]]})

    @router.get("/erasure/{request_id}", summary="One erasure request: its status and report")
    async def erasure_status(request_id: RequestId, request: Request, caller: Reader) -> JSONOut:
        rows = await gold_rows(
            request,
            caller,
            "select * from requests where request_id = $request_id",
            tables,
            {"request_id": request_id},
        )
        if not rows:
            raise NotFoundError(
                f"No erasure request `{request_id}`; list them with GET /compliance/erasure."
            )
        return JSONOut(as_answer(dict(rows[0])))

    return router
