/* ---
name: gold.access_anomalies
materialized: replace
description: >-
  Days on which a user read far more rows than their own baseline: the rows they read per day,
  on average, over the access_baseline_days before (days without reads count as zero, and the
  window starts no earlier than their first read). A day is flagged when its rows reach
  access_anomaly_factor times that baseline (a baseline under one row a day counts as one), once
  the user has access_min_history_days of history.
columns:
  day: {type: date, description: The UTC day flagged.}
  actor: {type: varchar, description: "Who read: a user name, or key:<name> for an API key.", tags: [pii]}
  actor_kind: {type: varchar, description: "user or api_key."}
  reads: {type: bigint, description: Reads that day.}
  rows_read: {type: bigint, description: Rows read that day.}
  history_days: {type: bigint, description: Days of the baseline window.}
  baseline_rows_per_day: {type: double, description: Rows read per day over the window.}
  ratio: {type: double, description: "rows_read / max(baseline_rows_per_day, 1)."}
--- */
with daily as (
    select day, actor, actor_kind, reads, rows_read from ref('gold.daily_access')
),

first_days as (
    select actor, min(day) as first_day from daily group by actor
),

windows as (
    select
        d.*,
        greatest(f.first_day, d.day - cast(var('access_baseline_days') as integer)) as window_start
    from daily as d
    join first_days as f on f.actor = d.actor
),

baselines as (
    select
        w.day,
        w.actor,
        w.actor_kind,
        w.reads,
        w.rows_read,
        w.day - w.window_start as history_days,
        coalesce(sum(p.rows_read), 0) / nullif(w.day - w.window_start, 0) as baseline_rows_per_day
    from windows as w
    left join daily as p
        on p.actor = w.actor and p.day >= w.window_start and p.day < w.day
    group by w.day, w.actor, w.actor_kind, w.reads, w.rows_read, w.window_start
)

select
    day,
    actor,
    actor_kind,
    reads,
    rows_read,
    history_days,
    baseline_rows_per_day,
    rows_read / greatest(baseline_rows_per_day, 1) as ratio
from baselines
where history_days >= var('access_min_history_days')
    and rows_read >= var('access_anomaly_factor') * greatest(baseline_rows_per_day, 1)
