/* ---
name: gold.daily_access
materialized: merge
unique_key: [day, actor]
time_column: day
partition_by: [day]
description: Per UTC day and user, every read they made, the rows it returned and the reads that returned PII.
columns:
  day: {type: date, description: The UTC day.}
  actor: {type: varchar, description: "Who read: a user name, or key:<name> for an API key.", tags: [pii]}
  actor_kind: {type: varchar, description: "user or api_key."}
  reads: {type: bigint, description: Reads.}
  rows_read: {type: bigint, description: Rows returned.}
  pii_reads: {type: bigint, description: Reads that returned PII unmasked.}
checks:
  - {check: not_null, column: actor}
--- */
with batch as (
    select
        day,
        actor,
        any_value(actor_kind) as actor_kind,
        count(*) as reads,
        sum(row_count) as rows_read,
        count(*) filter (where pii) as pii_reads
    from ref('silver.data_reads')
    group by day, actor
)

select
    b.day,
    b.actor,
    b.actor_kind,
    b.reads + coalesce(t.reads, 0) as reads,
    b.rows_read + coalesce(t.rows_read, 0) as rows_read,
    b.pii_reads + coalesce(t.pii_reads, 0) as pii_reads
from batch as b
left join this() as t on t.day = b.day and t.actor = b.actor
