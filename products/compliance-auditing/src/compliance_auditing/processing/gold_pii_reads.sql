/* ---
name: gold.pii_reads
materialized: merge
unique_key: [day, actor, role, table_name]
time_column: day
partition_by: [day]
description: >-
  Per UTC day, the reads that returned PII unmasked, by user, role and table. A caller holding
  several roles is counted under each of them (the question is which roles let PII out); one
  holding none under `(none)`.
columns:
  day: {type: date, description: The UTC day.}
  actor: {type: varchar, description: "Who read: a user name, or key:<name> for an API key.", tags: [pii]}
  role: {type: varchar, description: One of the roles the caller held when it read.}
  table_name: {type: varchar, description: The table read.}
  actor_kind: {type: varchar, description: "user or api_key."}
  reads: {type: bigint, description: Reads that returned PII.}
  rows_read: {type: bigint, description: Rows those reads returned.}
  first_read_at: {type: timestamptz, description: The first such read of the day.}
  last_read_at: {type: timestamptz, description: The last such read of the day.}
checks:
  - {check: not_null, column: role}
--- */
with pii_reads as (
    select
        day,
        actor,
        actor_kind,
        table_name,
        row_count,
        recorded_at,
        unnest(case when len(roles) = 0 then ['(none)'] else roles end) as role
    from ref('silver.data_reads')
    where pii
),

batch as (
    select
        day,
        actor,
        role,
        table_name,
        any_value(actor_kind) as actor_kind,
        count(*) as reads,
        sum(row_count) as rows_read,
        min(recorded_at) as first_read_at,
        max(recorded_at) as last_read_at
    from pii_reads
    group by day, actor, role, table_name
)

select
    b.day,
    b.actor,
    b.role,
    b.table_name,
    b.actor_kind,
    b.reads + coalesce(t.reads, 0) as reads,
    b.rows_read + coalesce(t.rows_read, 0) as rows_read,
    least(b.first_read_at, coalesce(t.first_read_at, b.first_read_at)) as first_read_at,
    greatest(b.last_read_at, coalesce(t.last_read_at, b.last_read_at)) as last_read_at
from batch as b
left join this() as t
    on t.day = b.day and t.actor = b.actor and t.role = b.role and t.table_name = b.table_name
