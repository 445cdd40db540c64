/* ---
name: gold.activity_1m
materialized: merge
unique_key: [window_start, platform, app_version]
time_column: window_start
description: >-
  1-minute windows per platform and app version: events by type, active users, crashes. Rows
  with platform `*` or app_version `*` are totals over every platform or version (a user active
  on two of them counts once). Active users are distinct signed-in users, or installs before
  sign-in. Identify and alias events are left out.
columns:
  window_start: {type: timestamptz, description: The minute (UTC).}
  platform: {type: varchar, description: "ios, android, unknown, or * for all."}
  app_version: {type: varchar, description: "The app version, unknown, or * for all."}
  events: {type: bigint, description: Track and screen events.}
  screen_views: {type: bigint, description: "Screen views: screen calls and track events of the role screen_view (by default `Screen Viewed`)."}
  app_opens: {type: bigint, description: "Events of the role app_open (setting `event_roles`; by default `app_open`, `Application Opened`)."}
  app_backgrounds: {type: bigint, description: "Events of the role app_background (by default `app_background`, `Application Backgrounded`)."}
  taps: {type: bigint, description: Events of the role tap (by default `tap`).}
  add_to_carts: {type: bigint, description: "Events of the role add_to_cart (by default `add_to_cart`, `Product Added`)."}
  purchases: {type: bigint, description: "Events of the role purchase (by default `purchase`, `Order Completed`)."}
  crashes: {type: bigint, description: "Events of the role crash (by default `crash`, `Application Crashed`)."}
  other_events: {type: bigint, description: "Track events of none of the roles (gold.events counts them by name)."}
  active_users: {type: bigint, description: Distinct users with an event in the window.}
checks:
  - {check: not_null, column: window_start}
--- */
-- Only the windows holding new events change; each is recomputed whole from the events around
-- the batch (a late event reopens its window) and merged over its old row.
with activity as (
    select
        date_trunc('minute', timestamp at time zone 'UTC') as window_start,
        coalesce(platform, 'unknown') as platform,
        coalesce(app_version, 'unknown') as app_version,
        coalesce(user_id, anonymous_id) as user_id,
        role
    from ref_since('silver.app_events', '1 minute')
    where type in ('track', 'screen')
),

touched as (
    select distinct date_trunc('minute', timestamp at time zone 'UTC') as window_start
    from ref('silver.app_events')
    where type in ('track', 'screen')
)

select
    window_start at time zone 'UTC' as window_start,
    coalesce(platform, '*') as platform,
    coalesce(app_version, '*') as app_version,
    count(*) as events,
    count(*) filter (where role = 'screen_view') as screen_views,
    count(*) filter (where role = 'app_open') as app_opens,
    count(*) filter (where role = 'app_background') as app_backgrounds,
    count(*) filter (where role = 'tap') as taps,
    count(*) filter (where role = 'add_to_cart') as add_to_carts,
    count(*) filter (where role = 'purchase') as purchases,
    count(*) filter (where role = 'crash') as crashes,
    count(*) filter (where role is null) as other_events,
    count(distinct user_id) as active_users
from activity
where window_start in (select window_start from touched)
group by grouping sets (
    (window_start, platform, app_version),
    (window_start, platform),
    (window_start, app_version),
    (window_start)
)
