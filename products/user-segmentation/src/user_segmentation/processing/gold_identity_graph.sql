/* ---
name: gold.identity_graph
materialized: replace
description: >-
  The identity graph, published for other products (compliance erasure follows a person's ids
  through it): each user id and anonymous id (browser or app install) ever linked, with the
  person it belongs to. Copied whole from silver.identity_graph on every run, as that model is
  itself recomputed whole.
columns:
  person_id: {type: varchar, description: "The person: the smallest user id linked.", tags: [pii]}
  identifier: {type: varchar, description: "A user id or an anonymous id.", tags: [pii]}
  kind: {type: varchar, description: "user or anonymous."}
checks:
  - {check: not_null, column: person_id}
  - {check: not_null, column: identifier}
--- */
select person_id, identifier, kind
from ref('silver.identity_graph')
