"""Governance: the suppression list that keeps erased people out of every table, and the guard
that applies it to the person columns it is handed (`dataplatform.core.product` says which
columns the installed products declare)."""

from dataplatform.core.governance._guard import MAX_ID_LENGTH, PersonGuard, guard_of, protect
from dataplatform.core.governance._suppression import ErasedIdRecord, SuppressionList, id_hash

__all__ = [
    "MAX_ID_LENGTH",
    "ErasedIdRecord",
    "PersonGuard",
    "SuppressionList",
    "guard_of",
    "id_hash",
    "protect",
]
