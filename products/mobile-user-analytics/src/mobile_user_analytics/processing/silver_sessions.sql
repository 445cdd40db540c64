/* ---
name: silver.sessions
materialized: merge
unique_key: [day, session_id, user_id]
time_column: started_at
partition_by: [day]
cluster_by: [session_id]
description: >-
  App sessions of a user on a device: the SDK's session id when the events carry one, otherwise a
  new session after `session_timeout_minutes` (30) without events. A user is the signed-in
  user_id, or the install's anonymous_id before sign-in. A tick reads the events silver gained and
  this table's sessions of the devices, signed-in users and SDK session ids they name
  (this_touched), never older events: however late an event, its session is the union of the
  stored sessions it joins (on its device, those ending less than the timeout before the
  device's first new event or later; or its SDK session's) and the new events. A stored session
  a late event joins to an earlier one is deleted, and so is one a late event moves to an
  earlier day: keyed by the day it starts (UTC), which it is partitioned by, a merge opens only
  the days it writes.
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
  revenue: {type: "struct(currency varchar, amount decimal(18, 4))[]", description: "Sum of the purchases' revenue (properties.revenue, else total, else value), per properties.currency (null when a purchase names none), sorted by currency; exact decimals, so the user summary adds sessions up exactly."}
  last_event: {type: varchar, description: "The name of the last event (the screen of a screen view); at one instant, the greatest name."}
checks:
  - {check: not_null, column: session_id}
  - {check: not_null, column: user_id}
--- */
-- Why joining stored sessions and new events is exact, however late the events: on a user's
-- device, more events only shorten the gaps between events, so sessions grow or join but never
-- split. The sessions of stored and new events together are chains of stored sessions and new
-- events, broken where the timeout passes with nothing; a stored session counts as the span
-- from its first to its last event, since no gap inside it reaches the timeout. Two stored
-- sessions are the timeout apart, so a stored session joins a chain only next to a new event:
-- it ends no earlier than the timeout before the device's first new event. An SDK session is its
-- stored row and its new events. Counts add up; the last event is the greatest (time, name,
-- version, platform, device), which a stored session keeps.
with new_events as (
    select
        coalesce(user_id, anonymous_id) as user_id,
        device_id,
        session_id as sdk_session_id,
        user_id is not null as signed_in,
        session_id is not null as from_sdk,
        coalesce(platform, 'unknown') as platform,
        coalesce(app_version, 'unknown') as app_version,
        event as last_event,
        timestamp as started_at,
        timestamp as ended_at,
        1 as events,
        (role is not distinct from 'screen_view')::int as screen_views,
        (role is not distinct from 'purchase')::int as purchases,
        (role is not distinct from 'crash')::int as crashes,
        case when role = 'purchase' then currency end as purchase_currency,
        case when role = 'purchase' then revenue end as purchase_amount,
        true as is_new
    from ref('silver.app_events')
    where type in ('track', 'screen') and coalesce(user_id, anonymous_id) is not null
),

-- A user's events on one device without an SDK session id: a timeline cut by inactivity.
timelines as (
    select user_id, device_id, min(started_at) as first_new
    from new_events
    where not from_sdk
    group by all
),

sdk_sessions as (
    select distinct sdk_session_id, user_id from new_events where from_sdk
),

-- The stored sessions of those timelines, found by device; events with no device (a server's,
-- sent with a user id only) make a timeline of their own, found by user.
timeline_sessions as (
    select s.*, t.first_new
    from this_touched('device_id') as s
    join timelines as t on t.user_id = s.user_id and t.device_id = s.device_id
    where not s.from_sdk
    union all
    select s.*, t.first_new
    from this_touched('user_id') as s
    join timelines as t on t.user_id = s.user_id and t.device_id is null and s.device_id is null
    where not s.from_sdk
),

stored as (
    select * exclude (first_new)
    from timeline_sessions
    where ended_at >= first_new - to_minutes(var('session_timeout_minutes'))
    union all
    select s.*
    from this_touched('session_id') as s
    semi join sdk_sessions as n on n.sdk_session_id = s.session_id and n.user_id = s.user_id
    where s.from_sdk
),

-- Unions by position, in the same column order, which column lineage can follow.
items as (
    select *, null as stored_revenue, null as stored_session_id from new_events
    union all
    select
        user_id,
        device_id,
        case when from_sdk then session_id end as sdk_session_id,
        signed_in,
        from_sdk,
        platform,
        app_version,
        last_event,
        started_at,
        ended_at,
        events,
        screen_views,
        purchases,
        crashes,
        null as purchase_currency,
        null as purchase_amount,
        false as is_new,
        revenue as stored_revenue,
        session_id as stored_session_id
    from stored
),

-- An item starts a session when the timeout passed between the last event of everything
-- before it and its start. Of items starting together, the first in order decides for all:
-- the running sum below counts ties (a range frame) as one step.
timeline_breaks as (
    select
        *,
        coalesce(
            started_at - max(ended_at) over (
                partition by user_id, device_id
                order by started_at
                rows between unbounded preceding and 1 preceding
            ) >= to_minutes(var('session_timeout_minutes')),
            true
        ) as starts_session
    from items
    where not from_sdk
),

assigned as (
    select
        * exclude (starts_session),
        device_id as timeline_device_id,
        sum(starts_session::int) over (partition by user_id, device_id order by started_at)
            as session_number
    from timeline_breaks
    union all
    -- A sign-in inside an SDK session splits it: the two parts belong to two users here.
    select *, null as timeline_device_id, null as session_number from items where from_sdk
),

sessions as (
    select
        user_id,
        sdk_session_id,
        timeline_device_id,
        bool_or(signed_in) as signed_in,
        max({
            'at': ended_at,
            'last_event': last_event,
            'app_version': app_version,
            'platform': platform,
            'device_id': device_id
        }) as last,
        bool_and(from_sdk) as from_sdk,
        min(started_at) as started_at,
        max(ended_at) as ended_at,
        sum(events)::bigint as events,
        sum(screen_views)::bigint as screen_views,
        sum(purchases)::bigint as purchases,
        sum(crashes)::bigint as crashes,
        list({'currency': purchase_currency, 'amount': purchase_amount})
            filter (where is_new and purchases > 0) as new_purchases,
        flatten(list(stored_revenue) filter (where not is_new)) as stored_revenue,
        bool_or(is_new) as holds_new_events
    from assigned
    group by user_id, sdk_session_id, timeline_device_id, session_number
),

identified as (
    select
        coalesce(
            sdk_session_id,
            md5(concat_ws('|', user_id, coalesce(timeline_device_id, ''), epoch_us(started_at)))
        ) as session_id,
        *
    from sessions
),

-- Amounts are summed as decimals (exact), per currency: euros and dollars do not add up.
revenue_per_currency as (
    select session_id, user_id, entry.currency, sum(entry.amount)::decimal(18, 4) as amount
    from (
        select session_id, user_id, unnest(list_concat(new_purchases, stored_revenue)) as entry
        from identified
        where holds_new_events
    )
    group by all
),

revenue as (
    select
        session_id,
        user_id,
        list({'currency': currency, 'amount': amount} order by currency) as revenue
    from revenue_per_currency
    group by all
)

select
    s.session_id,
    s.user_id,
    s.signed_in,
    s.last.device_id as device_id,
    s.last.platform as platform,
    s.last.app_version as app_version,
    s.from_sdk,
    s.started_at,
    s.ended_at,
    epoch(s.ended_at - s.started_at) as duration_seconds,
    s.events,
    s.screen_views,
    s.purchases,
    s.crashes,
    coalesce(r.revenue, []) as revenue,
    s.last.last_event as last_event,
    false as _deleted
from identified as s
left join revenue as r on r.session_id = s.session_id and r.user_id = s.user_id
where s.holds_new_events
union all
-- The stored sessions a late event joined to an earlier one (their id no longer exists) or
-- moved to an earlier day (their key, with the day, no longer exists).
select
    t.session_id,
    t.user_id,
    t.signed_in,
    t.device_id,
    t.platform,
    t.app_version,
    t.from_sdk,
    t.started_at,
    t.ended_at,
    t.duration_seconds,
    t.events,
    t.screen_views,
    t.purchases,
    t.crashes,
    t.revenue,
    t.last_event,
    true as _deleted
from stored as t
anti join identified as s
    on s.session_id = t.session_id
    and s.user_id = t.user_id
    and cast(timezone('UTC', s.started_at) as date) = cast(timezone('UTC', t.started_at) as date)
