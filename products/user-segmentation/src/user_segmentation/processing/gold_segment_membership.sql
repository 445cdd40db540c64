/* ---
name: gold.segment_membership
materialized: replace
description: >-
  Who is in each rule segment now, and since when: the pairs of gold.segment_changes whose
  latest change is an entry. Recomputed whole from the changes on every run.
columns:
  segment_id: {type: varchar, description: "The rule segment."}
  person_id: {type: varchar, description: "The person.", tags: [pii]}
  entered_at: {type: timestamptz, description: "When the run that took them in ran."}
  entered_as_of: {type: timestamptz, description: "as_of of the features that took them in."}
  definition_version: {type: bigint, description: "The definition's version that took them in."}
checks:
  - {check: not_null, column: person_id}
--- */
select segment_id, person_id, changed_at as entered_at, as_of as entered_as_of, definition_version
from ref('gold.segment_changes')
qualify row_number() over (partition by segment_id, person_id order by changed_at desc) = 1
    and change = 'enter'
