/* ---
name: gold.retention
materialized: merge
unique_key: [cohort_day, day_n]
description: >-
  Retention cohorts by first-seen day (UTC): per cohort and each day N after it, the users of the
  cohort active exactly on day first_seen + N. Rows run from N = 0 (the cohort itself) to the last
  day with events; /mobile/retention turns them into N-day retention for the configured days. A
  tick reads the partitions of silver.active_days that gained or lost rows (ref_touched on
  `day`: every user active on those days, with their cohort) and this table (one row per cohort
  and day after it: it grows with the days kept, not with events); it recounts the cells of
  those days, and writes only the cells that changed.
columns:
  cohort_day: {type: date, description: The day the cohort's users were first seen (UTC).}
  day_n: {type: integer, description: Days after the cohort day.}
  cohort_users: {type: bigint, description: Users first seen on the cohort day.}
  retained_users: {type: bigint, description: Users of the cohort active on cohort_day + day_n.}
checks:
  - {check: not_null, column: cohort_day}
--- */
-- Distinct users do not add up, so a touched day is recounted whole: a day's cells are its
-- active users grouped by cohort. A user whose first day moved has every active day rewritten
-- in silver.active_days, so every cell of theirs, in the old cohort and the new, is recounted.
with recounted as (
    select cohort_day, (day - cohort_day)::integer as day_n, count(*) as retained_users
    from ref_touched('silver.active_days', 'day')
    group by cohort_day, day
),

recounted_days as (
    select distinct cohort_day + day_n as day from recounted
),

held as (
    select cohort_day, day_n, cohort_users, retained_users from this()
),

-- A cohort's users are all active on its first day: a recounted cohort day gives its size (a
-- cohort that lost every user to an earlier one has none left there, and goes).
cohort_sizes as (
    select cohort_day, retained_users as cohort_users
    from recounted
    where day_n = 0
    union all
    select distinct cohort_day, cohort_users
    from held
    where cohort_day not in (select day from recounted_days)
),

last_day as (
    select max(day) as day
    from (
        select day from recounted_days
        union all
        select cohort_day + day_n from held
    )
),

-- Every (cohort, N) up to the last day with events, so a day nobody came back reads 0.
grid as (
    select
        cohort_day,
        cohort_users,
        unnest(range(0, (select day from last_day) - cohort_day + 1))::integer as day_n
    from cohort_sizes
),

cells as (
    select
        g.cohort_day,
        g.day_n,
        g.cohort_users,
        case
            when g.cohort_day + g.day_n in (select day from recounted_days)
                then coalesce(r.retained_users, 0)
            else coalesce(h.retained_users, 0)
        end as retained_users
    from grid as g
    left join recounted as r using (cohort_day, day_n)
    left join held as h using (cohort_day, day_n)
)

select c.*, false as _deleted
from cells as c
left join held as h using (cohort_day, day_n)
where h.cohort_day is null
    or (h.cohort_users, h.retained_users) is distinct from (c.cohort_users, c.retained_users)
union all by name
select h.cohort_day, h.day_n, true as _deleted
from held as h
anti join cells as c using (cohort_day, day_n)
