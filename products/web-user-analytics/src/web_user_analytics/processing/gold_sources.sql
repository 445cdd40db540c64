/* ---
name: gold.sources
materialized: replace
description: >-
  Per day, traffic source (direct, search, social, email, paid, referral) and campaign:
  sessions, visitors, bounces, bounce rate, conversions and revenue. Recomputed on every run.
columns:
  day: {type: date, description: The day in the reporting timezone.}
  source: {type: varchar, description: "direct, search, social, email, paid or referral."}
  utm_source: {type: varchar, description: The campaign's source.}
  utm_medium: {type: varchar, description: The campaign's medium.}
  utm_campaign: {type: varchar, description: The campaign's name.}
  sessions: {type: bigint, description: Sessions.}
  visitors: {type: bigint, description: Distinct browsers.}
  bounces: {type: bigint, description: Sessions that bounced.}
  bounce_rate: {type: double, description: bounces / sessions.}
  conversions: {type: bigint, description: Conversions (events named in `conversion_events`).}
  revenue: {type: double, description: Revenue of the conversions.}
--- */
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
from ref('gold.sessions')
group by day, source, utm_source, utm_medium, utm_campaign
