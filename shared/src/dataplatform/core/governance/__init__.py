"""Governance: which columns hold a person (from the products' declarations), and the
suppression list that keeps erased people out of every table."""

from dataplatform.core.governance._declared import (
    PII,
    declared_person_columns,
    person_columns_of,
)
from dataplatform.core.governance._guard import MAX_ID_LENGTH, PersonGuard, guard_of, protect
from dataplatform.core.governance._suppression import ErasedIdRecord, SuppressionList, id_hash

__all__ = [
    "MAX_ID_LENGTH",
    "PII",
    "ErasedIdRecord",
    "PersonGuard",
    "SuppressionList",
    "declared_person_columns",
    "guard_of",
    "id_hash",
    "person_columns_of",
    "protect",
]
