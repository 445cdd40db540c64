/* ---
name: gold.segment_membership
materialized: merge
unique_key: [segment_id, person_id]
description: >-
  Who is in each rule segment now, and since when: the pairs of gold.segment_changes whose
  latest change is an entry. A tick reads only the changes gold.segment_changes gained: a pair
  whose latest new change is an entry is written, one whose latest is an exit is removed.
columns:
  segment_id: {type: varchar, description: "The rule segment."}
  person_id: {type: varchar, description: "The person.", tags: [pii]}
  entered_at: {type: timestamptz, description: "When the run that took them in ran."}
  entered_as_of: {type: date, description: "as_of of the features that took them in."}
  definition_version: {type: bigint, description: "The definition's version that took them in."}
checks:
  - {check: not_null, column: person_id}
--- */
-- The changes of one pair alternate, enter and exit, each stamped after the one before: the
-- latest says whether the pair is in.
select
    segment_id,
    person_id,
    changed_at as entered_at,
    as_of as entered_as_of,
    definition_version,
    change = 'exit' as _deleted
from ref('gold.segment_changes')
qualify row_number() over (partition by segment_id, person_id order by changed_at desc) = 1
