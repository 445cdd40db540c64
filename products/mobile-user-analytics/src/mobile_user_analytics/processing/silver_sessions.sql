/* ---
name: silver.sessions
materialized: replace
time_column: started_at
partition_by: [day]
description: >-
  App sessions of a user on a device: the SDK's session id when the events carry one, otherwise a
  new session after `session_timeout_minutes` (30) without events. A user is the signed-in
  user_id, or the install's anonymous_id before sign-in. Recomputed whole from silver.app_events
  on each run, so a late event that joins or splits sessions is placed correctly.
columns:
  session_id: {type: varchar, description: "The SDK's session id, or a hash of user, device and start for sessions cut by inactivity."}
  user_id: {type: varchar, description: "The signed-in user, or the install's anonymous id.", tags: [pii]}
  signed_in: {type: boolean, description: Whether user_id is a signed-in user rather than an install.}
  device_id: {type: varchar, description: The device., tags: [pii]}
  platform: {type: varchar, description: "ios or android (unknown when the context names none)."}
  app_version: {type: varchar, description: "The app version of the session's last event (the one that crashed, if it did)."}
  from_sdk: {type: boolean, description: Whether the SDK named the session (false when cut by inactivity).}
  started_at: {type: timestamptz, description: The first event.}
  ended_at: {type: timestamptz, description: The last event.}
  duration_seconds: {type: double, description: From the first to the last event.}
  events: {type: bigint, description: Track and screen events.}
  screen_views: {type: bigint, description: "Screen views (role screen_view: screen calls, `Screen Viewed`)."}
  purchases: {type: bigint, description: "Purchases (role purchase: `purchase`, `Order Completed`; setting `event_roles`)."}
  crashes: {type: bigint, description: "Crashes (role crash: `crash`, `Application Crashed`)."}
  last_event: {type: varchar, description: The name of the last event (the screen of a screen view).}
checks:
  - {check: not_null, column: session_id}
  - {check: not_null, column: user_id}
--- */
-- A late event can join two sessions into one or land before a session's start, so sessions are
-- recomputed from all events rather than merged batch by batch.
with activity as (
    select
        event_id,
        event,
        role,
        user_id is not null as signed_in,
        coalesce(user_id, anonymous_id) as user_id,
        device_id,
        session_id as sdk_session_id,
        coalesce(platform, 'unknown') as platform,
        coalesce(app_version, 'unknown') as app_version,
        timestamp
    from ref('silver.app_events')
    where type in ('track', 'screen') and coalesce(user_id, anonymous_id) is not null
),

-- Events without an SDK session id: a gap of the timeout or more starts a new session.
without_sdk_id as (
    select
        *,
        coalesce(
            timestamp - lag(timestamp) over by_device >= to_minutes(var('session_timeout_minutes')),
            true
        ) as starts_session
    from activity
    where sdk_session_id is null
    window by_device as (partition by user_id, device_id order by timestamp, event_id)
),

numbered as (
    select
        *,
        sum(starts_session::int) over (
            partition by user_id, device_id order by timestamp, event_id rows unbounded preceding
        ) as session_number
    from without_sdk_id
),

cut_by_inactivity as (
    select
        * exclude (starts_session, session_number),
        md5(concat_ws(
            '|',
            user_id,
            coalesce(device_id, ''),
            epoch_us(min(timestamp) over (partition by user_id, device_id, session_number))
        )) as session_id
    from numbered
),

-- A sign-in inside an SDK session splits it: the two parts belong to two users here.
sessioned as (
    select * exclude (sdk_session_id), sdk_session_id as session_id, true as from_sdk
    from activity
    where sdk_session_id is not null
    union all by name
    select * exclude (sdk_session_id), false as from_sdk
    from cut_by_inactivity
)

select
    session_id,
    user_id,
    bool_or(signed_in) as signed_in,
    first(device_id order by timestamp desc, event_id desc) as device_id,
    first(platform order by timestamp desc, event_id desc) as platform,
    first(app_version order by timestamp desc, event_id desc) as app_version,
    bool_and(from_sdk) as from_sdk,
    min(timestamp) as started_at,
    max(timestamp) as ended_at,
    epoch(max(timestamp) - min(timestamp)) as duration_seconds,
    count(*) as events,
    count(*) filter (where role = 'screen_view') as screen_views,
    count(*) filter (where role = 'purchase') as purchases,
    count(*) filter (where role = 'crash') as crashes,
    first(event order by timestamp desc, event_id desc) as last_event
from sessioned
group by session_id, user_id
