/* ---
name: silver.session_state
materialized: merge
unique_key: [day, row_key]
time_column: day
partition_by: [day]
cluster_by: [visitor_id]
description: >-
  What gold.session_events is published from, kept so that a tick never rereads history: each
  sessionised event (with the user id it carried itself), each browser's identify link and each
  user agent's parse. A tick reads the page views, links and user agents silver gained; the page
  views of the same browsers on the same days in the reporting timezone (ref_touched by browser,
  2 days); this table's rows of those browsers from 2 days before the earliest new view on, with
  their links (this_touched by browser, '2 days'), every event row of the browsers a new link
  names (this_touched by anonymous id, from silver.identities), all from only the row groups
  holding them (both tables are sorted by browser); and this table's agent rows. It rewrites
  those browser-days' events, and the events whose user a new link changes. Partitioned by the
  reporting day (links and agents, which hold on every day, in the partition of no day) and
  keyed by it too, so a merge opens only the days it rewrites.
columns:
  row_key: {type: varchar, description: "`event <event_id>`, `link <anonymous_id>` or `agent <user agent>`."}
  kind: {type: varchar, description: "event, link or agent."}
  revision: {type: bigint, description: "Rewrites of the row so far, from 1: the latest of several wins downstream."}
  event_id: {type: varchar, description: The event.}
  session_id: {type: varchar, description: "The session: the event_id of its first event."}
  sequence: {type: bigint, description: "The event's position in its session, from 1."}
  visitor_id: {type: varchar, description: "The browser (its anonymous id, else the user id).", tags: [pii]}
  anonymous_id: {type: varchar, description: "The SDK's anonymous id of the browser.", tags: [pii]}
  own_user_id: {type: varchar, description: "The user id the event carried itself.", tags: [pii]}
  user_id: {type: varchar, description: "The event's own user, else the browser's link; a link row's user.", tags: [pii]}
  person_id: {type: varchar, description: "The user when known, else the browser.", tags: [pii]}
  timestamp: {type: timestamptz, description: "When the event happened; none on link and agent rows, which hold on every day."}
  day: {type: date, description: The day in the reporting timezone.}
  event: {type: varchar, description: "The event's name, or the page's."}
  is_pageview: {type: boolean, description: Whether the event is a page view.}
  is_conversion: {type: boolean, description: Whether the event is a conversion.}
  revenue: {type: double, description: The amount the event carries.}
  currency: {type: varchar, description: The amount's currency.}
  properties: {type: varchar, description: "The event's properties as sent, as JSON."}
  path: {type: varchar, description: The page's path.}
  source: {type: varchar, description: "Where the event's visit came from."}
  referrer_host: {type: varchar, description: The referring host.}
  utm_source: {type: varchar, description: The campaign's source.}
  utm_medium: {type: varchar, description: The campaign's medium.}
  utm_campaign: {type: varchar, description: The campaign's name.}
  user_agent: {type: varchar, description: "An agent row's user-agent string."}
  browser: {type: varchar, description: The browser's family.}
  os: {type: varchar, description: The operating system's family.}
  device_type: {type: varchar, description: "desktop, mobile, tablet, bot or other."}
  is_bot: {type: boolean, description: A known bot.}
  time_on_page_seconds: {type: double, description: "Of a page view: seconds until the session's next page view."}
  is_entry: {type: boolean, description: "Of a page view: the session's first."}
  is_exit: {type: boolean, description: "Of a page view: the session's last."}
checks:
  - {check: not_null, column: row_key}
--- */
-- Sessions end at midnight in the reporting timezone, so the sessions of a browser's day depend
-- on that day's events only: a tick re-sessionises whole (browser, day) pairs, from their first
-- event, and leaves every other day alone. Links and user agents are kept here as rows of their
-- own because a tick's ref() of silver.identities and silver.user_agents holds only what they
-- gained, and an event may arrive long after its browser's link or its agent's parse.
with touched_days as (
    select distinct
        visitor_id, cast(timezone(var('reporting_timezone'), timestamp) as date) as day
    from ref('silver.page_views')
),

-- A day in any timezone starts less than 2 days before each of its events: the browsers' page
-- views from 2 days before the earliest new one, read from the row groups holding them.
views as (
    select v.*, t.day
    from ref_touched('silver.page_views', 'visitor_id', '2 days') as v
    join touched_days as t
        on t.visitor_id = v.visitor_id
        and t.day = cast(timezone(var('reporting_timezone'), v.timestamp) as date)
    -- silver drops a retry within 7 days only: an older one is sessionised once all the same.
    -- An id sent again later under another time is an event of its own day, as it would be in
    -- a full rebuild: finding its first copy would mean looking through every day's events.
    qualify row_number() over (partition by v.event_id, t.day order by v.received_at) = 1
),

-- A link changed by several silver commits since the last tick comes once per commit.
new_links as (
    select anonymous_id, user_id, linked_at
    from ref('silver.identities')
    qualify row_number() over (partition by anonymous_id order by linked_at desc, user_id) = 1
),

new_agents as (
    select user_agent, browser, os, device_type, is_bot from ref('silver.user_agents')
),

-- This table's rows of the browsers the new page views name, from the lookback on: the
-- touched days' events, and the browsers' links (no time: a lookback keeps them). Every event
-- row of the browsers the new links name, on any day. And the parses of the views' user agents,
-- a handful of rows that sort last (no visitor).
kept as (
    select * from this_touched('visitor_id', '2 days')
    union
    select * from this_touched('anonymous_id', 'silver.identities')
    union
    select * from this()
    where kind = 'agent' and user_agent in (select user_agent from views)
),

links as (
    select anonymous_id, user_id from new_links
    union all
    select anonymous_id, user_id from kept
    where kind = 'link' and anonymous_id not in (select anonymous_id from new_links)
),

agents as (
    select * from new_agents
    union all
    select user_agent, browser, os, device_type, is_bot from kept where kind = 'agent'
),

events as (
    select
        e.*,
        coalesce(e.user_id, i.user_id) as known_user_id,
        coalesce(a.browser, 'Other') as browser,
        coalesce(a.os, 'Other') as os,
        coalesce(a.device_type, 'other') as device_type,
        coalesce(a.is_bot, false) as is_bot,
        case
            when e.utm_source is not null or e.utm_medium is not null or e.utm_campaign is not null
                then concat_ws(
                    ' / ',
                    coalesce(e.utm_source, ''),
                    coalesce(e.utm_medium, ''),
                    coalesce(e.utm_campaign, '')
                )
        end as campaign
    from views as e
    left join agents as a on a.user_agent = e.user_agent
    left join links as i on i.anonymous_id = e.anonymous_id
    where not (var('exclude_bots') and coalesce(a.is_bot, false))
),

-- Visits: split by inactivity and by midnight in the reporting timezone.
gaps as (
    select
        *,
        lag(timestamp) over by_visitor as previous_at,
        lag(day) over by_visitor as previous_day
    from events
    window by_visitor as (partition by visitor_id order by timestamp, event_id)
),

visits as (
    select
        *,
        sum(
            case
                when previous_at is null
                    or timestamp - previous_at >= to_minutes(var('session_timeout_minutes'))
                    or day <> previous_day
                    then 1
                else 0
            end
        ) over (partition by visitor_id order by timestamp, event_id rows unbounded preceding)
            as visit
    from gaps
),

-- Within a visit, an event bringing a campaign other than the last one seen starts a session
-- (someone coming back through another ad or email). Pages without a campaign continue the
-- session: SDKs tag only the landing page.
campaigns as (
    select
        *,
        row_number() over in_visit > 1
        and campaign is not null
        and campaign is distinct from last_value(campaign ignore nulls) over (
            in_visit rows between unbounded preceding and 1 preceding
        ) as campaign_changed
    from visits
    window in_visit as (partition by visitor_id, visit order by timestamp, event_id)
),

parts as (
    select
        *,
        sum(case when campaign_changed then 1 else 0 end) over (
            partition by visitor_id, visit order by timestamp, event_id rows unbounded preceding
        ) as part
    from campaigns
),

sessions as (
    select
        *,
        first_value(event_id) over in_session as session_id,
        row_number() over in_session as sequence
    from parts
    window in_session as (partition by visitor_id, visit, part order by timestamp, event_id)
),

sessionised as (
    select
        'event ' || event_id as row_key,
        'event' as kind,
        event_id,
        session_id,
        sequence,
        visitor_id,
        anonymous_id,
        user_id as own_user_id,
        known_user_id as user_id,
        coalesce(known_user_id, visitor_id) as person_id,
        timestamp,
        day,
        event,
        is_pageview,
        is_conversion,
        revenue,
        currency,
        properties,
        path,
        source,
        referrer_host,
        utm_source,
        utm_medium,
        utm_campaign,
        browser,
        os,
        device_type,
        is_bot,
        case
            when is_pageview
                then epoch(lead(timestamp) over session_pages) - epoch(timestamp)
        end as time_on_page_seconds,
        is_pageview and row_number() over session_pages = 1 as is_entry,
        is_pageview and lead(timestamp) over session_pages is null as is_exit
    from sessions
    window session_pages as (partition by session_id, is_pageview order by timestamp, event_id)
),

-- A new link changes the user of its browser's events on every day, not only the days
-- re-sessionised above; an event's own user id stays.
relinked as (
    select
        k.* replace (
            coalesce(k.own_user_id, l.user_id) as user_id,
            coalesce(k.own_user_id, l.user_id, k.visitor_id) as person_id
        )
    from kept as k
    join new_links as l on l.anonymous_id = k.anonymous_id
    where k.kind = 'event'
        and not exists (
            select 1 from sessionised as s where s.day = k.day and s.row_key = k.row_key
        )
        and coalesce(k.own_user_id, l.user_id) is distinct from k.user_id
),

changed as (
    select * from sessionised
    union all by name
    select * exclude (revision) from relinked
    union all by name
    select
        'link ' || anonymous_id as row_key,
        'link' as kind,
        anonymous_id as visitor_id,
        anonymous_id,
        user_id
    from new_links
    union all by name
    select 'agent ' || user_agent as row_key, 'agent' as kind, *
    from new_agents
)

select c.*, coalesce(k.revision, 0) + 1 as revision
from changed as c
left join kept as k on k.row_key = c.row_key and k.day is not distinct from c.day
