/* ---
name: silver.model_runs
materialized: append
time_column: finished_at
description: >-
  Every finished model run of every product (platform.gold.model_runs): status, duration, rows in,
  out and quarantined, and its quality checks.
columns:
  run_id: {type: bigint, description: The run's id in the platform's run records.}
  product: {type: varchar, description: The product whose model ran.}
  model: {type: varchar, description: "The model, <product>.<layer>.<table>."}
  mode: {type: varchar, description: "incremental, full or backfill."}
  engine: {type: varchar, description: "duckdb or spark."}
  status: {type: varchar, description: "succeeded or failed."}
  started_at: {type: timestamptz, description: When it started.}
  finished_at: {type: timestamptz, description: When it ended.}
  duration_ms: {type: double, description: How long it took.}
  rows_in: {type: bigint, description: Input rows read.}
  rows_out: {type: bigint, description: Rows written.}
  rows_quarantined: {type: bigint, description: Rows set aside by failing checks.}
  checks_failed: {type: bigint, description: Quality checks that failed.}
  checks: {type: varchar, description: "Every check's result, as JSON."}
  error: {type: varchar, description: Why it failed.}
--- */
select
    run_id, product, model, mode, engine, status, started_at, finished_at, duration_ms,
    rows_in, rows_out, rows_quarantined, checks_failed, checks, error
from source('platform', 'gold.model_runs')
where finished_at is not null
