"""`POST /compliance/access-requests`: every row about a person, as a ZIP archive of JSON and
CSV with a manifest (GDPR Art. 15 and 20); `GET /compliance/access-requests`: the requests
answered, without the data.

The id travels in the body, never in a URL (URLs are logged); the record keeps only its hash.
"""

import anyio
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from compliance_auditing.serving._access import Reader, Writer
from compliance_auditing.serving._common import SubjectIn
from compliance_auditing.settings import ComplianceAuditingSettings
from compliance_auditing.subject_access import gather, keep_record
from dataplatform.core.access import audit_action
from dataplatform.core.product_context import ProductContext
from dataplatform.core.serving import JSONOut, PageCursor, PageLimit, gold_page, lake_of


def access_requests_router(context: ProductContext[ComplianceAuditingSettings]) -> APIRouter:
    router = APIRouter()
    records = context.table("gold.access_requests")

    @router.post(
        "/access-requests",
        summary="Hand a person every row about them: a ZIP of JSON and CSV with a manifest",
        response_class=Response,
        responses={200: {"content": {"application/zip": {}}}},
    )
    async def request_access(body: SubjectIn, request: Request, caller: Writer) -> Response:
        lake = lake_of(request)
        answer = await anyio.to_thread.run_sync(gather, lake, body.user_id, caller.subject)
        await anyio.to_thread.run_sync(keep_record, lake, records, answer.record)
        record = answer.record
        audit_action(
            request,
            caller,
            "compliance.access_request",
            request_id=record["request_id"],
            subject_hash=record["subject_hash"],
            rows=record["rows"],
            tables=sorted(orjson.loads(record["tables"])),
        )
        return Response(
            answer.archive,
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="access-{record["request_id"]}.zip"',
                "X-Access-Request-Id": record["request_id"],
            },
        )

    @router.get("/access-requests", summary="Access requests answered, newest first")
    async def list_access_requests(
        request: Request,
        caller: Reader,
        limit: PageLimit = 100,
        cursor: PageCursor = None,
    ) -> JSONOut:
        page = await gold_page(
            request,
            caller,
            "select * from r order by requested_at desc, request_id",
            {"r": records},
            limit=limit,
            cursor=cursor,
        )
        return JSONOut(page)

    return router
