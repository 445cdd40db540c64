/* ---
name: gold.devices
materialized: replace
description: >-
  Per day, device type, browser and operating system: sessions, visitors, bounces, bounce rate
  and conversions. Recomputed on every run.
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
from ref('gold.sessions')
group by day, device_type, browser, os
