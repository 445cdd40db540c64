/* ---
name: gold.session_events
materialized: merge
unique_key: [day, event_id]
time_column: day
partition_by: [day]
cluster_by: [visitor_id]
description: >-
  Every page view, click and conversion of the website in its session, known bots left out
  (setting `exclude_bots`). A session ends after `session_timeout_minutes` without an event, at
  midnight in `reporting_timezone`, and when an event brings another campaign (utm source,
  medium, campaign). A tick reads only the event rows silver.session_state rewrote (the
  browser-days with new events, re-sessionised whole, and the events a new identify link
  gives a user) and merges them on the day and event_id. Partitioned by the reporting day, so a
  merge, and a model reading some days of it, open only those days' files. Pages and funnels
  are computed from it for any date range.
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
  properties: {type: varchar, description: "The event's properties as the SDK sent them, as JSON: what insights filter and break down by."}
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
-- An event rewritten by several silver commits since the last run comes once per commit. The
-- state lists the published columns in their order, its own around them.
select * exclude (row_key, kind, revision, anonymous_id, own_user_id, user_agent)
from ref('silver.session_state')
where kind = 'event'
qualify row_number() over (partition by day, event_id order by revision desc) = 1
