/* ---
name: gold.user_features
materialized: replace
description: >-
  Per person (silver.identity_graph stitches their user ids, browsers and app installs): when
  first and last seen, recency, frequency (sessions) and monetary value (RFM), purchases,
  events, sessions per week, the mobile share of events, the last platform, top web pages and
  app screens, active days and the furthest step of the funnel reached. Counts cover the
  window: the `feature_window_days` (30) UTC days ending on the day of `as_of`, the newest
  event time in the inputs (not the clock, so the same inputs give the same features). Whole
  days, because mobile-user-analytics publishes its figures per user and day
  (gold.user_days): so web and mobile count exactly the same days. Recomputed whole on every
  run.
columns:
  person_id: {type: varchar, description: "The person: the smallest user id linked, or the anonymous id of someone never identified.", tags: [pii]}
  identified: {type: boolean, description: "Whether the person has a user id (signed in somewhere)."}
  first_seen: {type: timestamptz, description: "Their first event on any platform."}
  last_seen: {type: timestamptz, description: "Their latest event on any platform."}
  recency_days: {type: bigint, description: "Whole days from last_seen to as_of."}
  frequency: {type: bigint, description: "Sessions in the window (web sessions with an event in it; mobile sessions started in it)."}
  monetary: {type: double, description: "Revenue in the window, in `currency` (EUR): web conversions and mobile purchases in that currency."}
  purchases: {type: bigint, description: "Purchases in the window (web conversions and mobile purchase events)."}
  events: {type: bigint, description: "Events in the window (web page views, clicks and conversions; mobile track and screen events)."}
  sessions_per_week: {type: double, description: "frequency / (feature_window_days / 7)."}
  mobile_share: {type: double, description: "Share of the window's events that were mobile; null without events in the window."}
  last_platform: {type: varchar, description: "mobile or web: where the latest event happened (web on a tie)."}
  top_pages: {type: "varchar[]", description: "The 3 web paths viewed most in the window, most viewed first (ties by path)."}
  top_screens: {type: "varchar[]", description: "The 3 app screens viewed most in the window, most viewed first (ties by name)."}
  active_days: {type: bigint, description: "UTC days in the window with activity on the web or in the app."}
  funnel_step: {type: bigint, description: "The furthest step of the `funnel` setting reached in order on the web in the window (0: not even the first)."}
  as_of: {type: timestamptz, description: "The newest event time in the inputs; the window is the feature_window_days UTC days ending on its day."}
checks:
  - {check: not_null, column: person_id}
  - {check: unique, column: person_id}
--- */
with recursive graph as (
    select person_id, identifier, kind from ref('silver.identity_graph')
),

-- Each web event belongs to the person of its user id, else of its browser, else to whichever
-- id it has (someone never linked).
web_events as (
    select
        coalesce(by_user.person_id, by_browser.person_id, e.user_id, e.visitor_id) as person_id,
        coalesce(by_user.person_id, by_browser.person_id, e.user_id) is not null as identified,
        e.session_id,
        e.timestamp,
        e.event,
        e.is_pageview,
        e.is_conversion,
        e.revenue,
        e.path
    from source('web-user-analytics', 'gold.session_events') as e
    left join graph as by_user on by_user.kind = 'user' and by_user.identifier = e.user_id
    left join graph as by_browser
        on by_browser.kind = 'anonymous' and by_browser.identifier = e.visitor_id
    where coalesce(e.user_id, e.visitor_id) is not null
),

-- A row of user_days is one UTC day on one platform of a signed-in user, or of an install
-- before sign-in (signed_in false).
mobile_days as (
    select
        coalesce(g.person_id, d.user_id) as person_id,
        g.person_id is not null or d.signed_in as identified,
        d.day,
        d.first_seen,
        d.last_seen,
        d.sessions,
        d.events,
        d.purchases,
        coalesce(list_sum(list_transform(
            list_filter(d.revenue, lambda r: r.currency = var('currency')), lambda r: r.amount
        )), 0) as revenue,
        d.screens
    from source('mobile-user-analytics', 'gold.user_days') as d
    left join graph as g
        on g.identifier = d.user_id and g.kind = if(d.signed_in, 'user', 'anonymous')
    where d.user_id is not null
),

as_of as (
    select
        newest as moment,
        (newest at time zone 'UTC')::date - var('feature_window_days') + 1 as first_day
    from (
        select greatest(
            (select max(timestamp) from web_events), (select max(last_seen) from mobile_days)
        ) as newest
    )
),

web_in_window as (
    select *
    from web_events
    where (timestamp at time zone 'UTC')::date >= (select first_day from as_of)
),

mobile_in_window as (
    select * from mobile_days where day >= (select first_day from as_of)
),

web as (
    select person_id, bool_or(identified) as identified, min(timestamp) as first_seen,
           max(timestamp) as last_seen
    from web_events
    group by person_id
),

web_window as (
    select
        person_id,
        count(distinct session_id) as sessions,
        count(*) as events,
        count(*) filter (where is_conversion) as purchases,
        coalesce(sum(revenue) filter (where is_conversion), 0) as revenue
    from web_in_window
    group by person_id
),

mobile as (
    select person_id, bool_or(identified) as identified, min(first_seen) as first_seen,
           max(last_seen) as last_seen
    from mobile_days
    group by person_id
),

mobile_window as (
    select person_id, sum(sessions) as sessions, sum(events) as events,
           sum(purchases) as purchases, sum(revenue) as revenue
    from mobile_in_window
    group by person_id
),

active_days as (
    select person_id, count(distinct day) as days
    from (
        select person_id, (timestamp at time zone 'UTC')::date as day from web_in_window
        union all
        select person_id, day from mobile_in_window
    )
    group by person_id
),

page_views as (
    select person_id, path, count(*) as views
    from web_in_window
    where is_pageview and path is not null
    group by person_id, path
),

top_pages as (
    select person_id, list(path order by views desc, path)[1:3] as pages
    from page_views
    group by person_id
),

screen_views as (
    select person_id, entry.key as screen, sum(entry.value) as views
    from (select person_id, unnest(map_entries(screens)) as entry from mobile_in_window)
    group by all
),

top_screens as (
    select person_id, list(screen order by views desc, screen)[1:3] as screens
    from screen_views
    group by person_id
),

funnel_steps as (
    select unnest(generate_series(1, len(steps))) as step, unnest(steps) as spec
    from (
        select from_json(var('funnel_steps'), '[{"kind": "VARCHAR", "pattern": "VARCHAR"}]')
            as steps
    )
),

funnel_matches as (
    select e.person_id, e.timestamp, s.step
    from web_in_window as e
    join funnel_steps as s
        on (s.spec.kind = 'page' and e.is_pageview and e.path like s.spec.pattern escape '\')
        or (s.spec.kind = 'event' and not e.is_pageview and e.event = s.spec.pattern)
),

-- Each step at its earliest time after the previous one: that finds the furthest ordered
-- progress whenever there is one.
funnel_progress(person_id, step, reached_at) as (
    select person_id, 1, min(timestamp)
    from funnel_matches
    where step = 1
    group by person_id
    union all
    select p.person_id, p.step + 1, min(m.timestamp)
    from funnel_progress as p
    join funnel_matches as m
        on m.person_id = p.person_id and m.step = p.step + 1 and m.timestamp > p.reached_at
    group by p.person_id, p.step
),

funnel as (
    select person_id, max(step) as step from funnel_progress group by person_id
),

people as (
    select person_id from web
    union
    select person_id from mobile
),

combined as (
    select
        people.person_id,
        coalesce(web.identified, false) or coalesce(mobile.identified, false) as identified,
        least(web.first_seen, mobile.first_seen) as first_seen,
        greatest(web.last_seen, mobile.last_seen) as last_seen,
        web.last_seen as web_last_seen,
        mobile.last_seen as mobile_last_seen,
        coalesce(web_window.sessions, 0) + coalesce(mobile_window.sessions, 0) as frequency,
        coalesce(web_window.revenue, 0) + coalesce(mobile_window.revenue, 0) as monetary,
        coalesce(web_window.purchases, 0) + coalesce(mobile_window.purchases, 0) as purchases,
        coalesce(web_window.events, 0) as web_events,
        coalesce(mobile_window.events, 0) as mobile_events
    from people
    left join web on web.person_id = people.person_id
    left join mobile on mobile.person_id = people.person_id
    left join web_window on web_window.person_id = people.person_id
    left join mobile_window on mobile_window.person_id = people.person_id
)

select
    c.person_id,
    c.identified,
    c.first_seen,
    c.last_seen,
    floor(epoch(as_of.moment - c.last_seen) / 86400)::bigint as recency_days,
    c.frequency,
    c.monetary::double as monetary,
    c.purchases,
    c.web_events + c.mobile_events as events,
    c.frequency * 7.0 / var('feature_window_days') as sessions_per_week,
    c.mobile_events / nullif(c.web_events + c.mobile_events, 0) as mobile_share,
    case
        when c.mobile_last_seen > c.web_last_seen or c.web_last_seen is null then 'mobile'
        else 'web'
    end as last_platform,
    coalesce(top_pages.pages, []) as top_pages,
    coalesce(top_screens.screens, []) as top_screens,
    coalesce(active_days.days, 0) as active_days,
    coalesce(funnel.step, 0) as funnel_step,
    as_of.moment as as_of
from combined as c
cross join as_of
left join top_pages on top_pages.person_id = c.person_id
left join top_screens on top_screens.person_id = c.person_id
left join active_days on active_days.person_id = c.person_id
left join funnel on funnel.person_id = c.person_id
