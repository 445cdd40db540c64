/* ---
name: silver.active_days
materialized: merge
unique_key: [user_id, day]
time_column: day
partition_by: [day]
description: >-
  One row per user (the signed-in user_id, or the install's anonymous_id before sign-in) and UTC
  day with a track or screen event, with the user's first such day: their retention cohort. What
  gold.retention counts, one day's partition at a time. A tick reads the events silver gained and,
  for each one's cohort, this table's rows of their users (a join over its user ids: one row per
  user and active day, not per event); it adds the new days, and when an event earlier than a
  user's first day arrives, rewrites every row of that user with the new cohort.
columns:
  user_id: {type: varchar, description: "The signed-in user, or the install's anonymous id.", tags: [pii]}
  day: {type: date, description: A day (UTC) the user was active.}
  cohort_day: {type: date, description: The user's first active day (UTC).}
checks:
  - {check: not_null, column: user_id}
  - {check: not_null, column: cohort_day}
--- */
with new_days as (
    select distinct
        coalesce(user_id, anonymous_id) as user_id,
        (timestamp at time zone 'UTC')::date as day
    from ref('silver.app_events')
    where type in ('track', 'screen') and coalesce(user_id, anonymous_id) is not null
),

held as (
    select user_id, day, cohort_day
    from this()
    where user_id in (select user_id from new_days)
),

days as (
    select user_id, day from new_days
    union
    select user_id, day from held
),

cohorts as (
    select user_id, min(day) as cohort_day
    from days
    group by user_id
)

-- New days, and the held days of a user whose first day moved earlier.
select d.user_id, d.day, c.cohort_day
from days as d
join cohorts as c using (user_id)
left join held as h using (user_id, day)
where h.cohort_day is distinct from c.cohort_day
