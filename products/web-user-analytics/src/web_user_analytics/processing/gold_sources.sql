/* ---
name: gold.sources
materialized: merge
unique_key: [day, source, utm_source, utm_medium, utm_campaign]
time_column: day
partition_by: [day]
description: >-
  Per day, traffic source (direct, search, social, email, paid, referral) and campaign:
  sessions, visitors, bounces, bounce rate, conversions and revenue. Distinct visitors do not
  add up across ticks, so a tick recounts each day gold.sessions rewrote or deleted sessions
  of, whole, from that day's partition (ref_touched by day), merges it over the day's old rows
  and deletes the sources and campaigns the day no longer holds.
columns:
  day: {type: date, description: The day in the reporting timezone.}
  source: {type: varchar, description: "direct, search, social, email, paid or referral."}
  utm_source: {type: varchar, description: "The campaign's source; empty when the sessions carried none."}
  utm_medium: {type: varchar, description: "The campaign's medium; empty when the sessions carried none."}
  utm_campaign: {type: varchar, description: "The campaign's name; empty when the sessions carried none."}
  sessions: {type: bigint, description: Sessions.}
  visitors: {type: bigint, description: Distinct browsers.}
  bounces: {type: bigint, description: Sessions that bounced.}
  bounce_rate: {type: double, description: bounces / sessions.}
  conversions: {type: bigint, description: Conversions (events named in `conversion_events`).}
  revenue: {type: double, description: Revenue of the conversions.}
--- */
-- The campaign is part of the merge key, and a null key never matches the row it should
-- replace: a campaign not sent is written empty.
with sessions as (
    select
        * replace (
            coalesce(utm_source, '') as utm_source,
            coalesce(utm_medium, '') as utm_medium,
            coalesce(utm_campaign, '') as utm_campaign
        )
    from ref_touched('gold.sessions', 'day')
),

sources as (
    select
        day,
        source,
        utm_source,
        utm_medium,
        utm_campaign,
        count(*) as sessions,
        count(distinct visitor_id) as visitors,
        count(*) filter (where is_bounce) as bounces,
        count(*) filter (where is_bounce) / count(*) as bounce_rate,
        sum(conversions) as conversions,
        sum(revenue) as revenue
    from sessions
    group by day, source, utm_source, utm_medium, utm_campaign
)

select *, false as _deleted from sources
union all by name
select day, source, utm_source, utm_medium, utm_campaign, true as _deleted
from this_touched('day') as held
anti join sources using (day, source, utm_source, utm_medium, utm_campaign)
