/* ---
name: gold.devices
materialized: merge
unique_key: [day, device_type, browser, os]
time_column: day
partition_by: [day]
description: >-
  Per day, device type, browser and operating system: sessions, visitors, bounces, bounce rate
  and conversions. Distinct visitors do not add up across ticks, so a tick recounts each day
  gold.sessions rewrote or deleted sessions of, whole, from that day's partition (ref_touched
  by day), merges it over the day's old rows and deletes the devices the day no longer holds.
columns:
  day: {type: date, description: The day in the reporting timezone.}
  device_type: {type: varchar, description: "desktop, mobile, tablet, bot or other."}
  browser: {type: varchar, description: The browser's family.}
  os: {type: varchar, description: The operating system's family.}
  sessions: {type: bigint, description: Sessions.}
  visitors: {type: bigint, description: Distinct browsers.}
  bounces: {type: bigint, description: Sessions that bounced.}
  bounce_rate: {type: double, description: bounces / sessions.}
  conversions: {type: bigint, description: Conversions (events named in `conversion_events`).}
--- */
with devices as (
    select
        day,
        device_type,
        browser,
        os,
        count(*) as sessions,
        count(distinct visitor_id) as visitors,
        count(*) filter (where is_bounce) as bounces,
        count(*) filter (where is_bounce) / count(*) as bounce_rate,
        sum(conversions) as conversions
    from ref_touched('gold.sessions', 'day')
    group by day, device_type, browser, os
)

select *, false as _deleted from devices
union all by name
select day, device_type, browser, os, true as _deleted
from this_touched('day') as held
anti join devices using (day, device_type, browser, os)
