/* ---
name: gold.table_freshness
materialized: merge
unique_key: [table_name]
description: >-
  Every table the platform has observed, as of the latest measurement: its version, rows, bytes,
  when it was last committed and how old that commit is, and how far a silver or gold table's last
  commit trails its product's newest bronze commit.
columns:
  table_name: {type: varchar, description: The table.}
  product: {type: varchar, description: "The product owning it, or platform."}
  layer: {type: varchar, description: "bronze, silver, gold or quarantine."}
  version: {type: bigint, description: Its latest version observed.}
  row_count: {type: bigint, description: Rows at that version.}
  size_bytes: {type: bigint, description: Bytes at that version.}
  last_modified: {type: timestamptz, description: When that version was committed.}
  observed_at: {type: timestamptz, description: When the platform saw it.}
  measured_at: {type: timestamptz, description: "The latest time the platform measured anything: what ages are counted to."}
  age_seconds: {type: double, description: From the last commit to measured_at.}
  behind_bronze_seconds: {type: double, description: "From this table's last commit to its product's newest bronze commit, when that is newer (0 when not behind); null for bronze tables and products without one."}
--- */
with clock as (
    select greatest(
        (select max(scraped_at) from ref('silver.metric_samples')),
        (select max(observed_at) from ref('silver.table_observations'))
    ) as measured_at
),

latest as (
    select table_name, product, layer, version, row_count, size_bytes, last_modified, observed_at
    from ref('silver.table_observations')
    qualify row_number() over (partition by table_name order by observed_at desc, version desc) = 1
),

-- Every table seen so far: its observation in this batch, else the one held.
tables as (
    select * from latest
    union all by name
    select table_name, product, layer, version, row_count, size_bytes, last_modified, observed_at
    from this()
    where table_name not in (select table_name from latest)
),

newest_bronze as (
    select product, max(last_modified) as last_modified
    from tables
    where layer = 'bronze'
    group by product
)

select
    tables.*,
    greatest(clock.measured_at, tables.observed_at) as measured_at,
    case when tables.last_modified is not null
        then greatest(epoch(greatest(clock.measured_at, tables.observed_at) - tables.last_modified), 0)
    end as age_seconds,
    case when tables.layer in ('silver', 'gold') and tables.last_modified is not null
        and newest_bronze.last_modified is not null
        then greatest(epoch(newest_bronze.last_modified - tables.last_modified), 0)
    end as behind_bronze_seconds
from tables
cross join clock
left join newest_bronze using (product)
