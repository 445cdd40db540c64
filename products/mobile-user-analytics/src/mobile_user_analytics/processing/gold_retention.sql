/* ---
name: gold.retention
materialized: replace
description: >-
  Retention cohorts by first-seen day (UTC): per cohort and each day N after it, the users of the
  cohort active exactly on day first_seen + N. Rows run from N = 0 (the cohort itself) to the last
  day with events; /mobile/retention turns them into N-day retention for the configured days.
columns:
  cohort_day: {type: date, description: The day the cohort's users were first seen (UTC).}
  day_n: {type: integer, description: Days after the cohort day.}
  cohort_users: {type: bigint, description: Users first seen on the cohort day.}
  retained_users: {type: bigint, description: Users of the cohort active on cohort_day + day_n.}
checks:
  - {check: not_null, column: cohort_day}
--- */
-- Recomputed whole: one late event can move a user's first day, and so change two cohorts.
with user_days as (
    select distinct
        coalesce(user_id, anonymous_id) as user_id,
        (timestamp at time zone 'UTC')::date as day
    from ref('silver.app_events')
    where type in ('track', 'screen') and coalesce(user_id, anonymous_id) is not null
),

first_days as (
    select user_id, min(day) as cohort_day
    from user_days
    group by user_id
),

cohorts as (
    select cohort_day, count(*) as cohort_users
    from first_days
    group by cohort_day
),

-- Every (cohort, N) up to the last day with events, so a day nobody came back reads 0.
grid as (
    select
        cohort_day,
        cohort_users,
        unnest(range(0, (select max(day) from user_days) - cohort_day + 1)) as day_n
    from cohorts
),

retained as (
    select first_days.cohort_day, user_days.day - first_days.cohort_day as day_n, count(*) as users
    from first_days
    join user_days on user_days.user_id = first_days.user_id
    group by all
)

select
    grid.cohort_day,
    grid.day_n::integer as day_n,
    grid.cohort_users,
    coalesce(retained.users, 0) as retained_users
from grid
left join retained on retained.cohort_day = grid.cohort_day and retained.day_n = grid.day_n
