"""Right to erasure: find every table that holds a person (their ids and the ids linked to
them), delete the rows, purge the files so the data is physically gone, and keep a verifiable
report. The rule for what identifies a person is in `_identity.py` (from the products'
declarations), the links in `_subject.py`, and the suppression list that keeps the person
from being written back in `_run.py`.
"""

from compliance_auditing.erasure._identity import person_columns, rows_of
from compliance_auditing.erasure._report import ErasureReport, as_answer
from compliance_auditing.erasure._run import erase
from compliance_auditing.erasure._subject import Subject, find_subject, subject_hash

__all__ = [
    "ErasureReport",
    "Subject",
    "as_answer",
    "erase",
    "find_subject",
    "person_columns",
    "rows_of",
    "subject_hash",
]
