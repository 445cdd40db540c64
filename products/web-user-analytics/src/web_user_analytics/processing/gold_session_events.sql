/* ---
name: gold.session_events
materialized: replace
description: >-
  Every page view, click and conversion of the website in its session, known bots left out
  (setting `exclude_bots`). A session ends after `session_timeout_minutes` without an event, at
  midnight in `reporting_timezone`, and when an event brings another campaign (utm source,
  medium, campaign). Recomputed from silver on every run: a late event may join, split or
  merge sessions already published, which an incremental update would get wrong. Pages and
  funnels are computed from it for any date range.
columns:
  event_id: {type: varchar, description: The event.}
  session_id: {type: varchar, description: "The session: the event_id of its first event."}
  sequence: {type: bigint, description: "The event's position in its session, from 1."}
  visitor_id: {type: varchar, description: The browser (its anonymous id)., tags: [pii]}
  user_id: {type: varchar, description: "The signed-in user: the event's own, else the browser's identify link.", tags: [pii]}
  person_id: {type: varchar, description: "Who did it, for funnels: the user when known, else the browser.", tags: [pii]}
  timestamp: {type: timestamptz, description: When it happened.}
  day: {type: date, description: The day in the reporting timezone.}
  event: {type: varchar, description: "The tracked event under the name it was sent (click, Order Completed, ...), or the page's name."}
  is_pageview: {type: boolean, description: Whether the event is a page view.}
  is_conversion: {type: boolean, description: "Whether the event is a conversion (named in the setting `conversion_events`)."}
  revenue: {type: double, description: "The amount the event carries (revenue, else total, else value); revenue when it is a conversion."}
  currency: {type: varchar, description: "The amount's currency (properties.currency, upper case), when the event names one."}
  path: {type: varchar, description: The page's path.}
  source: {type: varchar, description: "Where the event's visit came from: direct, search, social, email, paid or referral."}
  referrer_host: {type: varchar, description: The referring host.}
  utm_source: {type: varchar, description: The campaign's source.}
  utm_medium: {type: varchar, description: The campaign's medium.}
  utm_campaign: {type: varchar, description: The campaign's name.}
  browser: {type: varchar, description: The browser's family.}
  os: {type: varchar, description: The operating system's family.}
  device_type: {type: varchar, description: "desktop, mobile, tablet, bot or other."}
  is_bot: {type: boolean, description: "A known bot (kept only when `exclude_bots` is false)."}
  time_on_page_seconds: {type: double, description: "Of a page view: seconds until the session's next page view; null on the session's last page."}
  is_entry: {type: boolean, description: "Of a page view: the session's first."}
  is_exit: {type: boolean, description: "Of a page view: the session's last."}
checks:
  - {check: not_null, column: session_id}
--- */
with events as (
    select
        e.*,
        coalesce(e.user_id, i.user_id) as known_user_id,
        coalesce(a.browser, 'Other') as browser,
        coalesce(a.os, 'Other') as os,
        coalesce(a.device_type, 'other') as device_type,
        coalesce(a.is_bot, false) as is_bot,
        cast(timezone(var('reporting_timezone'), e.timestamp) as date) as day,
        case
            when e.utm_source is not null or e.utm_medium is not null or e.utm_campaign is not null
                then concat_ws(
                    ' / ',
                    coalesce(e.utm_source, ''),
                    coalesce(e.utm_medium, ''),
                    coalesce(e.utm_campaign, '')
                )
        end as campaign
    from ref('silver.page_views') as e
    left join ref('silver.user_agents') as a on a.user_agent = e.user_agent
    left join ref('silver.identities') as i on i.anonymous_id = e.anonymous_id
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
)

select
    event_id,
    session_id,
    sequence,
    visitor_id,
    known_user_id as user_id,
    coalesce(known_user_id, visitor_id) as person_id,
    timestamp,
    day,
    event,
    is_pageview,
    is_conversion,
    revenue,
    currency,
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
