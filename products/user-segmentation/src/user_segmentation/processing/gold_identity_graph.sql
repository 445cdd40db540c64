/* ---
name: gold.identity_graph
materialized: merge
unique_key: [kind, identifier]
description: >-
  The identity graph, published for other products (compliance erasure follows a person's ids
  through it): each user id and anonymous id (browser or app install) ever linked, with the
  person it belongs to. A tick reads only the rows silver.identity_graph rewrote since the last
  run, and merges them on the id.
columns:
  person_id: {type: varchar, description: "The person: the smallest user id linked.", tags: [pii]}
  identifier: {type: varchar, description: "A user id or an anonymous id.", tags: [pii]}
  kind: {type: varchar, description: "user or anonymous."}
checks:
  - {check: not_null, column: person_id}
  - {check: not_null, column: identifier}
--- */
-- An id rewritten by several commits since the last run comes once per commit. Components only
-- ever merge, so an id's person only ever moves to a smaller user id: the smallest is the latest.
select min(person_id) as person_id, identifier, kind
from ref('silver.identity_graph')
group by identifier, kind
