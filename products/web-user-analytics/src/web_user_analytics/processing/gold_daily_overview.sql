/* ---
name: gold.daily_overview
materialized: merge
unique_key: [day]
time_column: day
partition_by: [day]
description: >-
  Per day in the reporting timezone: visitors, sessions, page views, engaged sessions, bounces,
  bounce rate, average session duration, conversions and revenue. Distinct visitors do not add
  up across ticks, so a tick recounts each day gold.sessions rewrote or deleted sessions of,
  whole, from that day's partition (ref_touched by day), and deletes a day left without one.
columns:
  day: {type: date, description: The day in the reporting timezone.}
  visitors: {type: bigint, description: Distinct browsers with a session that day.}
  sessions: {type: bigint, description: Sessions started that day.}
  pageviews: {type: bigint, description: Page views.}
  engaged_sessions: {type: bigint, description: Sessions that engaged.}
  bounces: {type: bigint, description: Sessions that bounced.}
  bounce_rate: {type: double, description: bounces / sessions.}
  avg_session_seconds: {type: double, description: Average session duration.}
  conversions: {type: bigint, description: Conversions (events named in `conversion_events`).}
  revenue: {type: double, description: Revenue of the conversions.}
checks:
  - {check: unique, column: day}
--- */
with days as (
    select
        day,
        count(distinct visitor_id) as visitors,
        count(*) as sessions,
        sum(pageviews) as pageviews,
        count(*) filter (where is_engaged) as engaged_sessions,
        count(*) filter (where is_bounce) as bounces,
        count(*) filter (where is_bounce) / count(*) as bounce_rate,
        avg(duration_seconds) as avg_session_seconds,
        sum(conversions) as conversions,
        sum(revenue) as revenue
    from ref_touched('gold.sessions', 'day')
    group by day
)

select *, false as _deleted from days
union all by name
select day, true as _deleted
from this_touched('day') as held
anti join days using (day)
