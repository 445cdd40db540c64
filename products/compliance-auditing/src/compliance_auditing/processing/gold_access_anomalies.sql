/* ---
name: gold.access_anomalies
materialized: merge
unique_key: [day, actor]
description: >-
  Days on which a user read far more rows than their own baseline: the rows they read per day,
  on average, over the access_baseline_days before (days without reads count as zero, and the
  window starts no earlier than their first read). A day is flagged when its rows reach
  access_anomaly_factor times that baseline (a baseline under one row a day counts as one), once
  the user has access_min_history_days of history. A tick reads every gold.daily_access row (one
  per day with reads) of the users whose days changed or were removed since the last tick, since
  a changed day moves the baselines after it and a user's first read starts their windows, and
  judges their days again, writing only the verdicts that changed (deleting days no longer
  flagged): it costs those users' days of reads, found by scanning gold.daily_access by actor.
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
    select
        day,
        actor,
        actor_kind,
        reads,
        rows_read,
        min(day) over (partition by actor) as first_day,
        -- No row precedes the first read, so the days before the window's start add nothing.
        coalesce(sum(rows_read) over (
            partition by actor order by day range between
                to_days(cast(var('access_baseline_days') as integer)) preceding
                and to_days(1) preceding
        ), 0) as window_rows
    from ref_touched('gold.daily_access', 'actor')
),

baselines as (
    select
        *,
        day - greatest(first_day, day - cast(var('access_baseline_days') as integer))
            as history_days
    from daily
),

flagged as (
    select
        day,
        actor,
        actor_kind,
        reads,
        rows_read,
        cast(history_days as bigint) as history_days,
        cast(window_rows / nullif(history_days, 0) as double) as baseline_rows_per_day
    from baselines
    where history_days >= var('access_min_history_days')
        and rows_read >= var('access_anomaly_factor')
            * greatest(window_rows / nullif(history_days, 0), 1)
),

judged as (
    select *, cast(rows_read / greatest(baseline_rows_per_day, 1) as double) as ratio
    from flagged
),

held as (
    select
        day, actor, actor_kind, reads, rows_read, history_days, baseline_rows_per_day, ratio
    from this_touched('actor')
)

-- A verdict held as it is would only rewrite files: the new and the changed ones are written.
select judged.*, false as _deleted
from judged
left join held using (day, actor)
where held.actor is null
    or (judged.actor_kind, judged.reads, judged.rows_read, judged.history_days,
        judged.baseline_rows_per_day, judged.ratio)
    is distinct from (held.actor_kind, held.reads, held.rows_read, held.history_days,
        held.baseline_rows_per_day, held.ratio)

union all

-- Days no longer flagged.
select held.*, true as _deleted
from held
anti join judged using (day, actor)
