"""What the product's routes share: the segment id in a path, and telling rule segments from ML ones."""

from typing import Annotated

from fastapi import Path

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
    """Whether `segment_id` names a rule segment (else an ML one)."""
    return segment_id.startswith("rule-")
