/* ---
name: silver.app_events
materialized: append
time_column: timestamp
partition_by: [day]
description: Typed app events, each event_id once within the dedup window (7 days), with device, OS, app version and platform.
columns:
  event_id: {type: varchar, description: The SDK's message id.}
  type: {type: varchar, description: "track or screen; identify and alias too (kept here, left out of every activity metric)."}
  event: {type: varchar, description: "The event name as sent (the screen of a screen view)."}
  role: {type: varchar, description: "What the models count it as: app_open, app_background, screen_view, tap, add_to_cart, purchase or crash, by the setting `event_roles` (a screen call is always a screen view); null for any other event (`other_events`), identify and alias."}
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
  revenue: {type: "decimal(18, 4)", description: "The amount the event carries: properties.revenue, else total, else value (Segment's e-commerce spec); summed as revenue on purchases."}
  currency: {type: varchar, description: "properties.currency, upper case; null when the event names none."}
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
        properties,
        -- Segment's e-commerce spec: an order carries `revenue`, `total` or `value`. Decimal,
        -- so that sums are exact.
        coalesce(
            try_cast(json_extract(properties, '$.revenue') as decimal(18, 4)),
            try_cast(json_extract(properties, '$.total') as decimal(18, 4)),
            try_cast(json_extract(properties, '$.value') as decimal(18, 4))
        ) as revenue,
        upper(json_extract_string(properties, '$.currency')) as currency
    from ref('bronze.app_events')
),

-- A retry of an event published within the dedup window is a duplicate; older ones are not
-- looked up (reading all of silver for every batch would grow without end).
recently_published as (
    select event_id
    from this()
    where timestamp >= (select min(timestamp) - to_days(var('dedup_window_days')) from arrived)
)

select
    event_id,
    type,
    event,
    -- Each fact once: which names play which role is the setting `event_roles`, applied here
    -- as the event arrives; every model counts by `role`.
    case
        when type = 'screen' then 'screen_view'
        when type <> 'track' then null
        when list_contains(var('event_roles.app_open'), event) then 'app_open'
        when list_contains(var('event_roles.app_background'), event) then 'app_background'
        when list_contains(var('event_roles.screen_view'), event) then 'screen_view'
        when list_contains(var('event_roles.tap'), event) then 'tap'
        when list_contains(var('event_roles.add_to_cart'), event) then 'add_to_cart'
        when list_contains(var('event_roles.purchase'), event) then 'purchase'
        when list_contains(var('event_roles.crash'), event) then 'crash'
    end as role,
    user_id,
    anonymous_id,
    device_id,
    session_id,
    platform,
    os_version,
    app_version,
    timestamp,
    received_at,
    properties,
    revenue,
    currency
from arrived
where event_id not in (select event_id from recently_published)
qualify row_number() over (partition by event_id order by received_at) = 1
