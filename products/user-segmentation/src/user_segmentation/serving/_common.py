"""What the product's routes share: permissions, table names, path and paging parameters."""

from typing import Annotated

from fastapi import Path

from dataplatform.core.access import Principal, product_permission, require

PRODUCT = "user-segmentation"
READ = require(product_permission(PRODUCT, "read"))
WRITE = require(product_permission(PRODUCT, "write"))
Reader = Annotated[Principal, READ]
Writer = Annotated[Principal, WRITE]

RULE_ID = r"rule-[0-9a-f]{12}"
ML_ID = r"ml-[1-9][0-9]{0,8}"
SegmentId = Annotated[
    str,
    Path(
        pattern=rf"^({RULE_ID}|{ML_ID})$",
        description="A rule segment (`rule-` and 12 hex digits) or an ML segment (`ml-` and a "
        "number), as GET /segments lists them.",
    ),
]


def is_rule(segment_id: str) -> bool:
    return segment_id.startswith("rule-")
