/* ---
name: gold.active_users
materialized: merge
unique_key: [day]
time_column: day
description: >-
  DAU, WAU and MAU per UTC day: distinct users active that day and over the trailing 7 and 30
  days (the day included). A user is the signed-in user_id, or the install's anonymous_id
  before sign-in. Days without events have rows too, from the first day with events to the last.
columns:
  day: {type: date, description: The day (UTC).}
  dau: {type: bigint, description: Distinct users active that day.}
  wau: {type: bigint, description: Distinct users active in the 7 days ending that day.}
  mau: {type: bigint, description: Distinct users active in the 30 days ending that day.}
checks:
  - {check: not_null, column: day}
--- */
-- New events change their own day and the 29 after it (whose trailing months hold it); those
-- days are recomputed from the 30 days before the earliest new event onwards.
with user_days as (
    select distinct
        (timestamp at time zone 'UTC')::date as day,
        coalesce(user_id, anonymous_id) as user_id
    from ref_since('silver.app_events', '30 days')
    where type in ('track', 'screen') and coalesce(user_id, anonymous_id) is not null
),

first_changed_day as (
    select min((timestamp at time zone 'UTC')::date) as day
    from ref('silver.app_events')
    where type in ('track', 'screen') and coalesce(user_id, anonymous_id) is not null
),

calendar as (
    select unnest(generate_series(
        (select day from first_changed_day), (select max(day) from user_days), interval 1 day
    ))::date as day
)

select
    calendar.day,
    count(distinct user_days.user_id) filter (where user_days.day = calendar.day) as dau,
    count(distinct user_days.user_id) filter (where user_days.day > calendar.day - 7) as wau,
    count(distinct user_days.user_id) as mau
from calendar
left join user_days on user_days.day between calendar.day - 29 and calendar.day
group by calendar.day
