/* ---
name: gold.column_reads
materialized: merge
unique_key: [day, actor, table_name, column_name]
time_column: day
partition_by: [day]
description: >-
  Per UTC day, who read which column of which table: reads that returned the column, rows they
  returned, first and last read. A read that returned no rows names no column and is counted in
  gold.daily_access only.
columns:
  day: {type: date, description: The UTC day.}
  actor: {type: varchar, description: "Who read: a user name, or key:<name> for an API key.", tags: [pii]}
  table_name: {type: varchar, description: The table read.}
  column_name: {type: varchar, description: The column returned.}
  actor_kind: {type: varchar, description: "user or api_key."}
  reads: {type: bigint, description: Reads that returned the column.}
  rows_read: {type: bigint, description: Rows those reads returned.}
  first_read_at: {type: timestamptz, description: The first such read of the day.}
  last_read_at: {type: timestamptz, description: The last such read of the day.}
checks:
  - {check: not_null, column: column_name}
--- */
with returned as (
    select day, actor, actor_kind, table_name, row_count, recorded_at, unnest(columns) as column_name
    from ref('silver.data_reads')
),

batch as (
    select
        day,
        actor,
        table_name,
        column_name,
        any_value(actor_kind) as actor_kind,
        count(*) as reads,
        sum(row_count) as rows_read,
        min(recorded_at) as first_read_at,
        max(recorded_at) as last_read_at
    from returned
    group by day, actor, table_name, column_name
)

select
    b.day,
    b.actor,
    b.table_name,
    b.column_name,
    b.actor_kind,
    b.reads + coalesce(t.reads, 0) as reads,
    b.rows_read + coalesce(t.rows_read, 0) as rows_read,
    least(b.first_read_at, coalesce(t.first_read_at, b.first_read_at)) as first_read_at,
    greatest(b.last_read_at, coalesce(t.last_read_at, b.last_read_at)) as last_read_at
from batch as b
left join this() as t
    on t.day = b.day and t.actor = b.actor and t.table_name = b.table_name
    and t.column_name = b.column_name
