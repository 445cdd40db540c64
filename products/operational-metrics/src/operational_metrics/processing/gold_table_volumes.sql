/* ---
name: gold.table_volumes
materialized: merge
unique_key: [minute, table_name]
time_column: minute
description: >-
  Per table and minute (UTC): rows and bytes it gained, from the growth between the platform's
  consecutive observations of it (a shrink, from retention or a rewrite, counts 0). Bronze rows
  are the ingestion rate; quarantine rows what was set aside. A table's first observation, or the
  first after more than a day without one, only sets its baseline.
columns:
  minute: {type: timestamptz, description: The minute (UTC) the growth was observed in.}
  table_name: {type: varchar, description: The table.}
  product: {type: varchar, description: "The product owning it, or platform."}
  layer: {type: varchar, description: "bronze, silver, gold or quarantine."}
  rows_added: {type: bigint, description: Rows gained in the minute.}
  bytes_added: {type: bigint, description: Bytes gained in the minute.}
  row_count: {type: bigint, description: Rows at the end of the minute.}
  size_bytes: {type: bigint, description: Bytes at the end of the minute.}
  versions: {type: bigint, description: New versions observed in the minute.}
--- */
-- The minutes holding new observations are recounted whole; each table's size before them is
-- the last minute already counted (within the day before).
with first_minute as (
    select min(date_trunc('minute', observed_at)) as minute
    from ref('silver.table_observations')
),

observations as (
    select *
    from ref_since('silver.table_observations', '1 minute')
    where observed_at >= (select minute from first_minute)
),

before as (
    select table_name, row_count, size_bytes
    from this_since('1 day')
    where minute < (select minute from first_minute)
    qualify row_number() over (partition by table_name order by minute desc) = 1
),

growth as (
    select
        observations.*,
        coalesce(lag(observations.row_count) over by_table, before.row_count) as previous_rows,
        coalesce(lag(observations.size_bytes) over by_table, before.size_bytes) as previous_bytes
    from observations
    left join before using (table_name)
    window by_table as (partition by table_name order by observed_at, version)
)

select
    date_trunc('minute', observed_at) as minute,
    table_name,
    any_value(product) as product,
    any_value(layer) as layer,
    coalesce(sum(greatest(row_count - previous_rows, 0)), 0) as rows_added,
    coalesce(sum(greatest(size_bytes - previous_bytes, 0)), 0) as bytes_added,
    arg_max(row_count, observed_at) as row_count,
    arg_max(size_bytes, observed_at) as size_bytes,
    count(*) as versions
from growth
group by date_trunc('minute', observed_at), table_name
