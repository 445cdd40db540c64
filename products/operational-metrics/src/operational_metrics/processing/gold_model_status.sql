/* ---
name: gold.model_status
materialized: merge
unique_key: [model]
description: >-
  Every model of every product: its latest run (status, duration, rows, checks, error), when it
  last succeeded and failed, how many runs in a row failed, and its runs and failures so far.
columns:
  model: {type: varchar, description: "The model, <product>.<layer>.<table>."}
  product: {type: varchar, description: The product.}
  last_run_id: {type: bigint, description: Its latest run.}
  last_status: {type: varchar, description: "succeeded or failed."}
  last_finished_at: {type: timestamptz, description: When the latest run ended.}
  last_duration_ms: {type: double, description: How long it took.}
  last_rows_out: {type: bigint, description: Rows it wrote.}
  last_checks_failed: {type: bigint, description: Quality checks it failed.}
  last_checks: {type: varchar, description: "Every check's result in the latest run, as JSON."}
  last_error: {type: varchar, description: Why the latest run failed.}
  last_success_at: {type: timestamptz, description: When a run last succeeded.}
  last_failure_at: {type: timestamptz, description: When a run last failed.}
  failures_in_a_row: {type: bigint, description: Failed runs since the last success.}
  runs: {type: bigint, description: Runs so far.}
  failures: {type: bigint, description: Failed runs so far.}
--- */
-- Runs arrive in the order they started (run id): the highest id is the latest.
with runs as (
    select * from ref('silver.model_runs')
),

latest as (
    select * from runs
    qualify row_number() over (partition by model order by run_id desc) = 1
),

batch as (
    select
        model,
        count(*) as runs,
        count(*) filter (where status = 'failed') as failures,
        max(finished_at) filter (where status = 'succeeded') as last_success_at,
        max(finished_at) filter (where status = 'failed') as last_failure_at,
        max(run_id) filter (where status = 'succeeded') as last_success_id
    from runs
    group by model
),

failed_after_success as (
    select batch.model, count(runs.run_id) as failures
    from batch
    left join runs
        on runs.model = batch.model and runs.status = 'failed'
        and runs.run_id > coalesce(batch.last_success_id, -1)
    group by batch.model
)

select
    latest.model,
    latest.product,
    latest.run_id as last_run_id,
    latest.status as last_status,
    latest.finished_at as last_finished_at,
    latest.duration_ms as last_duration_ms,
    latest.rows_out as last_rows_out,
    latest.checks_failed as last_checks_failed,
    latest.checks as last_checks,
    latest.error as last_error,
    greatest(batch.last_success_at, held.last_success_at) as last_success_at,
    greatest(batch.last_failure_at, held.last_failure_at) as last_failure_at,
    case when batch.last_success_id is not null then failed_after_success.failures
        else coalesce(held.failures_in_a_row, 0) + failed_after_success.failures
    end as failures_in_a_row,
    coalesce(held.runs, 0) + batch.runs as runs,
    coalesce(held.failures, 0) + batch.failures as failures
from latest
join batch using (model)
join failed_after_success using (model)
left join this() as held using (model)
