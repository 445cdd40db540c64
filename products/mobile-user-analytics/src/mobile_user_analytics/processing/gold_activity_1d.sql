/* ---
name: gold.activity_1d
materialized: merge
unique_key: [window_start, platform, app_version]
time_column: window_start
description: >-
  1-day windows per platform and app version: events by type, active users, crashes. Rows
  with platform `*` or app_version `*` are totals over every platform or version (a user active
  on two of them counts once). Active users are distinct signed-in users, or installs before
  sign-in. Identify and alias events are left out.
columns:
  window_start: {type: timestamptz, description: The day (UTC midnight).}
  platform: {type: varchar, description: "ios, android, unknown, or * for all."}
  app_version: {type: varchar, description: "The app version, unknown, or * for all."}
  events: {type: bigint, description: Track and screen events.}
  screen_views: {type: bigint, description: Screen events.}
  app_opens: {type: bigint, description: app_open events.}
  app_backgrounds: {type: bigint, description: app_background events.}
  taps: {type: bigint, description: tap events.}
  add_to_carts: {type: bigint, description: add_to_cart events.}
  purchases: {type: bigint, description: purchase events.}
  crashes: {type: bigint, description: crash events.}
  other_events: {type: bigint, description: Track events of any other name.}
  active_users: {type: bigint, description: Distinct users with an event in the window.}
checks:
  - {check: not_null, column: window_start}
--- */
-- Its own table rather than a sum of minutes: distinct users of the minutes do not add up.
-- Only the windows holding new events change; each is recomputed whole from the events around
-- the batch (a late event reopens its window) and merged over its old row.
with activity as (
    select
        date_trunc('day', timestamp at time zone 'UTC') as window_start,
        coalesce(platform, 'unknown') as platform,
        coalesce(app_version, 'unknown') as app_version,
        coalesce(user_id, anonymous_id) as user_id,
        type,
        event
    from ref_since('silver.app_events', '1 day')
    where type in ('track', 'screen')
),

touched as (
    select distinct date_trunc('day', timestamp at time zone 'UTC') as window_start
    from ref('silver.app_events')
    where type in ('track', 'screen')
)

select
    window_start at time zone 'UTC' as window_start,
    coalesce(platform, '*') as platform,
    coalesce(app_version, '*') as app_version,
    count(*) as events,
    count(*) filter (where type = 'screen') as screen_views,
    count(*) filter (where type = 'track' and event = 'app_open') as app_opens,
    count(*) filter (where type = 'track' and event = 'app_background') as app_backgrounds,
    count(*) filter (where type = 'track' and event = 'tap') as taps,
    count(*) filter (where type = 'track' and event = 'add_to_cart') as add_to_carts,
    count(*) filter (where type = 'track' and event = 'purchase') as purchases,
    count(*) filter (where type = 'track' and event = 'crash') as crashes,
    count(*) filter (
        where type = 'track'
        and event not in ('app_open', 'app_background', 'tap', 'add_to_cart', 'purchase', 'crash')
    ) as other_events,
    count(distinct user_id) as active_users
from activity
where window_start in (select window_start from touched)
group by grouping sets (
    (window_start, platform, app_version),
    (window_start, platform),
    (window_start, app_version),
    (window_start)
)
