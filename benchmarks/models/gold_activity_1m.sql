/* ---
name: gold.activity_1m
materialized: merge
unique_key: [minute, platform, app_version]
time_column: minute
description: 1-minute windows per platform and app version, recomputed for the minutes new events touch.
--- */
with touched as (
    select date_trunc('minute', min(timestamp)) as minute from ref('silver.events')
)

select
    date_trunc('minute', e.timestamp) as minute,
    e.platform,
    coalesce(e.app_version, '') as app_version,
    count(*) as events,
    count(distinct e.user_id) as active_users,
    count(*) filter (where e.event = 'purchase') as purchases,
    count(*) filter (where e.event = 'crash') as crashes,
    coalesce(sum(e.amount), 0) as revenue
from ref_since('silver.events', '1 minute') as e
-- Whole minutes from the first one the new rows touch: any later minute may have changed too.
where e.timestamp >= (select min(minute) from touched)
group by 1, 2, 3
