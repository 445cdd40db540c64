/* ---
name: gold.model_activity
materialized: merge
unique_key: [minute, product]
time_column: minute
description: >-
  Model runs per product and minute (UTC) they finished in: runs, failures, durations, rows in,
  out and quarantined by checks, and quality checks failed.
columns:
  minute: {type: timestamptz, description: The minute (UTC) the runs finished in.}
  product: {type: varchar, description: The product whose models ran.}
  runs: {type: bigint, description: Runs finished.}
  failures: {type: bigint, description: Runs that failed.}
  duration_ms_sum: {type: double, description: Their total duration (divide by runs for the mean).}
  duration_ms_max: {type: double, description: The longest.}
  rows_in: {type: bigint, description: Input rows read.}
  rows_out: {type: bigint, description: Rows written.}
  rows_quarantined: {type: bigint, description: Rows set aside by failing checks.}
  checks_failed: {type: bigint, description: Quality checks that failed.}
--- */
-- Runs are published in the order they started, so a long run lands after shorter ones that
-- finished later: the minutes holding new runs are recounted whole.
with touched as (
    select distinct date_trunc('minute', finished_at) as minute from ref('silver.model_runs')
),

runs as (
    select date_trunc('minute', finished_at) as minute, *
    from ref_since('silver.model_runs', '1 minute')
    where date_trunc('minute', finished_at) in (select minute from touched)
)

select
    minute,
    product,
    count(*) as runs,
    count(*) filter (where status = 'failed') as failures,
    coalesce(sum(duration_ms), 0) as duration_ms_sum,
    max(duration_ms) as duration_ms_max,
    coalesce(sum(rows_in), 0) as rows_in,
    coalesce(sum(rows_out), 0) as rows_out,
    coalesce(sum(rows_quarantined), 0) as rows_quarantined,
    coalesce(sum(checks_failed), 0) as checks_failed
from runs
group by minute, product
