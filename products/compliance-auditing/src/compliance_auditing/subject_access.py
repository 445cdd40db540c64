"""Right of access and portability (GDPR Art. 15 and 20): every row about a person, as an archive.

The person is found as the erasure finds them (their id and the ids linked to it, `erasure`),
and so are the tables and rows that hold them: each table with columns that identify a person
(declared, or tagged PII in the catalog), each row in which one of those columns holds one of
the ids. The archive is a ZIP the requester downloads at once:

    manifest.json               who, when, by when it was due, and per table its rows and files
    tables/<table>.json         the table's rows about the person, as a JSON array
    tables/<table>.csv          the same rows as CSV (nested values as JSON text)

Only a record of the request is kept (`gold.access_requests`: the id's hash and the counts),
never the archive, so answering a request makes no new copy an erasure would have to find.
"""

import csv
import io
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa

from compliance_auditing.catalog import read_catalog
from compliance_auditing.erasure import find_subject, person_columns, rows_of, subject_hash
from compliance_auditing.storage import ACCESS_REQUESTS_SCHEMA
from dataplatform.core.connectors.lakehouse import Lakehouse, as_plain_text

# Art. 12(3): without undue delay, and at the latest within one month of the request.
ANSWER_WITHIN = timedelta(days=30)


@dataclass(frozen=True)
class AccessArchive:
    """The archive's bytes and the record kept of the request."""

    archive: bytes
    record: dict[str, Any]


def gather(lake: Lakehouse, user_id: str, requested_by: str) -> AccessArchive:
    """Every row about `user_id` (and the ids linked to it) across the lake, as an archive."""
    requested_at = datetime.now(UTC)
    subject = find_subject(lake, user_id)
    catalog = read_catalog(lake) or {}
    found: dict[str, pa.Table] = {}
    for name in sorted(str(table) for table in lake.tables()):
        entry = catalog.get(name)
        columns = person_columns(name, lake.schema(name), entry.pii_columns if entry else ())
        if columns is None:
            continue
        rows = as_plain_text(lake.read(name))
        mine = rows.filter(rows_of(subject.ids, columns)(rows)) if rows.num_rows else rows
        if mine.num_rows:
            found[name] = mine
    record = {
        "request_id": uuid.uuid4().hex,
        "subject_hash": subject_hash(user_id),
        "linked_ids": len(subject.linked),
        "requested_by": requested_by,
        "requested_at": requested_at,
        "due_by": requested_at + ANSWER_WITHIN,
        "answered_at": datetime.now(UTC),
        "rows": sum(table.num_rows for table in found.values()),
        "tables": orjson.dumps({name: rows.num_rows for name, rows in found.items()}).decode(),
    }
    manifest = {
        **record,
        "tables": [
            {
                "table": name,
                "rows": rows.num_rows,
                "columns": rows.column_names,
                "json": f"tables/{name}.json",
                "csv": f"tables/{name}.csv",
            }
            for name, rows in found.items()
        ],
        "ids": list(subject.ids),
    }
    return AccessArchive(_zipped(manifest, found), record)


def keep_record(lake: Lakehouse, table: str, record: dict[str, Any]) -> None:
    """Append the request's record to `table` (the product's access requests)."""
    lake.append(table, pa.Table.from_pylist([record], ACCESS_REQUESTS_SCHEMA))


def _zipped(manifest: dict[str, Any], found: dict[str, pa.Table]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", _json(manifest))
        for name, rows in found.items():
            values = rows.to_pylist()
            archive.writestr(f"tables/{name}.json", _json(values))
            archive.writestr(f"tables/{name}.csv", _csv(rows.column_names, values))
    return buffer.getvalue()


def _json(value: Any) -> bytes:
    return orjson.dumps(
        value, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
    )


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in columns])
    return text.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return orjson.dumps(value, default=str).decode()
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
