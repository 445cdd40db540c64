"""The product's pages in the admin console: the audit trail with its chain's verification,
who read what, retention runs, erasure requests (start one, follow it, read its proof) and the
access requests answered, each drawn from one of the product's own routes."""

from collections.abc import Sequence

from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.access import AUDIT_READ, product_permission
from dataplatform.core.console import Action, Answer, Chart, ConsolePage, Field, Form
from dataplatform.core.product_context import ProductContext

READ = product_permission("compliance-auditing", "read")
WRITE = product_permission("compliance-auditing", "write")
_TRAIL = Answer(
    "seq",
    ("recorded_at", "actor", "action", "outcome", "route", "status", "table_name", "row_count"),
)


def console_pages(context: ProductContext[ComplianceAuditingSettings]) -> Sequence[ConsolePage]:
    return (
        ConsolePage(
            "audit",
            "Audit trail",
            AUDIT_READ,
            description="Every request and change, newest first, in a hash chain anyone can "
            "check: verify it, or narrow the trail by who, what and when.",
            forms=(
                Form("Verify the chain", "/audit/verify", "GET", submit="Verify"),
                Form(
                    "Search the trail",
                    "/audit",
                    "GET",
                    fields=(
                        Field("actor", "Who", required=False),
                        Field("action", "Action", required=False, help="e.g. sources.create"),
                        Field("table", "Table", required=False),
                        Field(
                            "outcome",
                            "Outcome",
                            "select",
                            options=("success", "failure"),
                            required=False,
                        ),
                    ),
                    submit="Search",
                    answer=_TRAIL,
                ),
            ),
            charts=(
                Chart(
                    "Latest entries",
                    "/audit?limit=50",
                    x=_TRAIL.x,
                    series=_TRAIL.series,
                    kind="table",
                ),
            ),
        ),
        ConsolePage(
            "access",
            "Access reports",
            AUDIT_READ,
            description="Who read which column of which table, per day, and the reads that "
            "returned PII.",
            charts=(
                Chart(
                    "Column reads",
                    "/access-report",
                    x="day",
                    series=("actor", "table_name", "column_name", "reads", "rows_read"),
                    kind="table",
                ),
                Chart(
                    "Reads that returned PII",
                    "/access-report/pii",
                    x="day",
                    series=("actor", "role", "table_name", "reads", "rows_read"),
                    kind="table",
                ),
            ),
        ),
        ConsolePage(
            "retention",
            "Retention runs",
            READ,
            description="Per table and run: the cutoff its retention set, and the rows removed.",
            charts=(
                Chart(
                    "Retention runs",
                    "/retention",
                    x="table_name",
                    series=(
                        "run_at",
                        "retention_days",
                        "cutoff",
                        "status",
                        "rows_removed",
                        "files_vacuumed",
                    ),
                    kind="table",
                ),
            ),
        ),
        ConsolePage(
            "erasure",
            "Erasure requests",
            READ,
            description="Erase a person from every product's tables, follow the request, and "
            "read its proof: the rows removed per table and the traces left (none).",
            forms=(
                Form(
                    "Erase a person",
                    "/erasure",
                    fields=(Field("user_id", "Their user id"),),
                    submit="Erase",
                    permission=WRITE,
                    confirm="Erase this person from every product? This cannot be undone.",
                ),
            ),
            charts=(
                Chart(
                    "Requests",
                    "/erasure",
                    x="request_id",
                    series=(
                        "status",
                        "requested_by",
                        "requested_at",
                        "rows_removed",
                        "remaining_traces",
                        "finished_at",
                    ),
                    kind="table",
                    actions=(Action("Read the proof", "GET", "/erasure/{request_id}"),),
                ),
            ),
        ),
        ConsolePage(
            "access-requests",
            "Access requests",
            READ,
            description="Right of access and portability: gather every row about a person "
            "into an archive to hand them (JSON and CSV with a manifest), and the requests "
            "answered.",
            forms=(
                Form(
                    "Answer a request",
                    "/access-requests",
                    fields=(Field("user_id", "User id", help="The person's user id."),),
                    submit="Gather",
                    permission=WRITE,
                ),
                Form(
                    "Requests answered",
                    "/access-requests",
                    method="GET",
                    submit="Show",
                    answer=Answer(
                        "requested_at",
                        ("request_id", "requested_by", "due_by", "answered_at", "rows", "tables"),
                    ),
                ),
            ),
        ),
    )
