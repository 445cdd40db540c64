/* ---
name: gold.sessions
materialized: merge
unique_key: [day, session_id]
time_column: day
partition_by: [day]
cluster_by: [user_id]
description: >-
  One row per web session (see gold.session_events for how sessions are split): when, how
  long, pages, entry and exit page, traffic source, device, and whether it engaged (lasted at
  least 10 s, or viewed at least 2 pages, or converted) or bounced (did not engage). A
  tick reads the events of the browser-days gold.session_events rewrote (their browsers' rows
  from the earliest such day on) and this table's sessions of those browser-days; it rewrites
  the sessions holding a rewritten event and deletes those whose events all joined another
  session (a late event bridging two sessions, or starting one earlier).
columns:
  session_id: {type: varchar, description: "The session: the event_id of its first event."}
  visitor_id: {type: varchar, description: The browser (its anonymous id)., tags: [pii]}
  user_id: {type: varchar, description: The signed-in user when known., tags: [pii]}
  day: {type: date, description: The day in the reporting timezone.}
  started_at: {type: timestamptz, description: Its first event.}
  ended_at: {type: timestamptz, description: Its last event.}
  duration_seconds: {type: double, description: From its first to its last event.}
  pageviews: {type: bigint, description: Page views.}
  events: {type: bigint, description: "Events of any kind: page views, clicks, conversions."}
  conversions: {type: bigint, description: Conversions (events named in `conversion_events`).}
  revenue: {type: double, description: Revenue of its conversions.}
  entry_page: {type: varchar, description: Path of its first page view.}
  exit_page: {type: varchar, description: Path of its last page view.}
  source: {type: varchar, description: "Where it came from: direct, search, social, email, paid or referral."}
  referrer_host: {type: varchar, description: The host that referred its first event.}
  utm_source: {type: varchar, description: Its campaign's source.}
  utm_medium: {type: varchar, description: Its campaign's medium.}
  utm_campaign: {type: varchar, description: Its campaign's name.}
  browser: {type: varchar, description: The browser's family.}
  os: {type: varchar, description: The operating system's family.}
  device_type: {type: varchar, description: "desktop, mobile, tablet, bot or other."}
  is_bot: {type: boolean, description: "A known bot (kept only when `exclude_bots` is false)."}
  is_engaged: {type: boolean, description: "Lasted at least 10 s, or at least 2 page views, or a conversion."}
  is_bounce: {type: boolean, description: Not engaged.}
checks:
  - {check: unique, column: session_id}
--- */
-- A session belongs to one browser and ends at midnight in the reporting timezone, so the
-- sessions of a browser-day are made of that browser-day's events alone, and none of them lies
-- before the earliest rewritten event's day ('0 days' back).
with touched as (
    select distinct visitor_id, day from ref('gold.session_events')
),

events as (
    select e.*
    from ref_touched('gold.session_events', 'visitor_id', '0 days') as e
    join touched as t on t.visitor_id = e.visitor_id and t.day = e.day
),

sessions as (
    select
        session_id,
        any_value(visitor_id) as visitor_id,
        max(user_id) as user_id,
        any_value(day) as day,
        min(timestamp) as started_at,
        max(timestamp) as ended_at,
        epoch(max(timestamp)) - epoch(min(timestamp)) as duration_seconds,
        count(*) filter (where is_pageview) as pageviews,
        count(*) as events,
        count(*) filter (where is_conversion) as conversions,
        coalesce(sum(revenue) filter (where is_conversion), 0) as revenue,
        -- A session of clicks only (its page view was in the previous session) has no page
        -- view: its first and last events' pages stand in.
        coalesce(any_value(path) filter (where is_entry), arg_min(path, sequence)) as entry_page,
        coalesce(any_value(path) filter (where is_exit), arg_max(path, sequence)) as exit_page,
        any_value(source) filter (where sequence = 1) as source,
        any_value(referrer_host) filter (where sequence = 1) as referrer_host,
        any_value(utm_source) filter (where sequence = 1) as utm_source,
        any_value(utm_medium) filter (where sequence = 1) as utm_medium,
        any_value(utm_campaign) filter (where sequence = 1) as utm_campaign,
        any_value(browser) filter (where sequence = 1) as browser,
        any_value(os) filter (where sequence = 1) as os,
        any_value(device_type) filter (where sequence = 1) as device_type,
        bool_or(is_bot) as is_bot
    from events
    group by session_id
),

-- The state rewrites a browser-day's events together (and a new link only changes users), so
-- a session none of whose events was rewritten is the one this table holds.
rewritten as (
    select
        *,
        duration_seconds >= 10 or pageviews >= 2 or conversions > 0 as is_engaged,
        not (duration_seconds >= 10 or pageviews >= 2 or conversions > 0) as is_bounce
    from sessions
    where session_id in (select session_id from ref('gold.session_events'))
),

gone as (
    select held.day, held.session_id
    from this_since('0 days') as held
    join touched as t on t.visitor_id = held.visitor_id and t.day = held.day
    anti join sessions as s on s.session_id = held.session_id
)

select *, false as _deleted from rewritten
union all by name
select *, true as _deleted from gone
