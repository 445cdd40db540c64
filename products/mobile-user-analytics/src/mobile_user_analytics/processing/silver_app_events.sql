/* ---
name: silver.app_events
materialized: append
time_column: timestamp
description: Typed app events, each event_id once within the dedup window (7 days), with device, OS, app version and platform.
columns:
  event_id: {type: varchar, description: The SDK's message id.}
  type: {type: varchar, description: "track or screen; identify and alias too (kept here, left out of every activity metric)."}
  event: {type: varchar, description: The event name (the screen of a screen view).}
  user_id: {type: varchar, description: The signed-in user when known., tags: [pii]}
  anonymous_id: {type: varchar, description: The SDK's install id., tags: [pii]}
  device_id: {type: varchar, description: "The device (the install id when the context names none).", tags: [pii]}
  session_id: {type: varchar, description: The SDK's session id when it sends one.}
  platform: {type: varchar, description: ios or android.}
  os_version: {type: varchar, description: Version of the operating system.}
  app_version: {type: varchar, description: Version of the app that sent the event.}
  timestamp: {type: timestamptz, description: When it happened (corrected for device clock skew).}
  received_at: {type: timestamptz, description: When the collector received it.}
  properties: {type: varchar, description: The event's properties as JSON.}
checks:
  - {check: not_null, column: event_id}
  - {check: accepted_values, column: platform, values: [ios, android], severity: warn}
--- */
with arrived as (
    select
        event_id,
        type,
        event,
        user_id,
        anonymous_id,
        -- Sessions are cut per user and device; an SDK that names no device still has its install.
        coalesce(json_extract_string(context, '$.device.id'), anonymous_id) as device_id,
        coalesce(
            json_extract_string(context, '$.sessionId'),
            json_extract_string(properties, '$.session_id')
        ) as session_id,
        lower(json_extract_string(context, '$.os.name')) as platform,
        json_extract_string(context, '$.os.version') as os_version,
        json_extract_string(context, '$.app.version') as app_version,
        timestamp,
        received_at,
        properties
    from ref('bronze.app_events')
),

-- A retry of an event published within the dedup window is a duplicate; older ones are not
-- looked up (reading all of silver for every batch would grow without end).
recently_published as (
    select event_id
    from this()
    where timestamp >= (select min(timestamp) - to_days(var('dedup_window_days')) from arrived)
)

select *
from arrived
where event_id not in (select event_id from recently_published)
qualify row_number() over (partition by event_id order by received_at) = 1
