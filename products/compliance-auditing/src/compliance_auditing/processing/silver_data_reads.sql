/* ---
name: silver.data_reads
materialized: append
time_column: recorded_at
partition_by: [day]
description: >-
  Every audited data read (`data.read` in the platform's audit log): who, when, which table,
  columns and rows, under which roles, and whether PII came back unmasked.
columns:
  seq: {type: bigint, description: The entry's place in the audit chain.}
  recorded_at: {type: timestamptz, description: When the read was answered.}
  day: {type: date, description: The UTC day of recorded_at.}
  actor: {type: varchar, description: "Who read: a user name, or key:<name> for an API key.", tags: [pii]}
  actor_kind: {type: varchar, description: "user or api_key."}
  route: {type: varchar, description: The route template that answered.}
  table_name: {type: varchar, description: The table read.}
  row_count: {type: bigint, description: Rows returned.}
  pii: {type: boolean, description: Whether PII columns came back unmasked.}
  columns: {type: "varchar[]", description: The columns returned.}
  roles: {type: "varchar[]", description: The caller's roles when it read.}
checks:
  - {check: not_null, column: seq}
  - {check: not_null, column: actor}
--- */
select
    seq,
    recorded_at,
    cast(timezone('UTC', recorded_at) as date) as day,
    actor,
    actor_kind,
    route,
    table_name,
    coalesce(row_count, 0) as row_count,
    pii,
    coalesce(cast(json_extract(detail, '$.columns') as varchar[]), []) as columns,
    coalesce(cast(json_extract(detail, '$.roles') as varchar[]), []) as roles
from source('platform', 'gold.audit_log')
where action = 'data.read'
