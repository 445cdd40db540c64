/* ---
name: gold.user_days
materialized: merge
unique_key: [user_id, day, platform]
time_column: day
partition_by: [day]
description: >-
  Per user (the signed-in user_id, or the install's anonymous_id before sign-in), UTC day and
  platform: sessions started, events, screen views with the views of each screen, purchases and
  revenue per currency. Lets a consumer count exactly inside any window of days, which the
  lifetime gold.user_summary cannot. A tick reads the app events and sessions silver gained, the
  events and sessions from a day before the earliest of them (ref_since), and this table's rows
  of the days they touch (this_touched on `day`: the days of the new events and of the sessions
  gained, changed or deleted); it recomputes the touched users on those days whole and writes
  only the rows that changed, deleting those that no longer exist.
columns:
  user_id: {type: varchar, description: "The signed-in user, or the install's anonymous id.", tags: [pii]}
  signed_in: {type: boolean, description: Whether user_id is a signed-in user rather than an install.}
  day: {type: date, description: The day (UTC).}
  platform: {type: varchar, description: "ios or android (unknown when the context names none)."}
  first_seen: {type: timestamptz, description: "The first track or screen event that day on the platform (for a row holding only sessions, the first of their starts)."}
  last_seen: {type: timestamptz, description: "The last track or screen event that day on the platform (for a row holding only sessions, the last of their starts)."}
  sessions: {type: bigint, description: "Sessions (silver.sessions) that started that day; a session counts for the platform of its last event, as in silver.sessions."}
  events: {type: bigint, description: Track and screen events.}
  screen_views: {type: bigint, description: "Screen views (role screen_view: screen calls, `Screen Viewed`)."}
  purchases: {type: bigint, description: "Purchases (role purchase: `purchase`, `Order Completed`; setting `event_roles`)."}
  revenue: {type: "struct(currency varchar, amount double)[]", description: "Sum of the purchases' revenue (properties.revenue, else total, else value), per properties.currency (null when a purchase names none), sorted by currency."}
  screens: {type: "map(varchar, bigint)", description: "Screen name (of a screen call; properties.name of a `Screen Viewed`) -> views that day (screen views without a name are in screen_views only)."}
checks:
  - {check: not_null, column: user_id}
  - {check: not_null, column: day}
  - {check: sql, sql: "select user_id, day, platform from batch group by all having count(*) > 1"}
--- */
-- The same user rule, event types and revenue sums as gold.user_summary, split by day and
-- platform, so the days of a user add up to their summary.
--
-- What a tick can change: the rows of a user with new events or changed sessions, on a day
-- holding a new event or the start of a session gained, changed or lost (a late event that
-- joins a session to an earlier one moves its start, and maybe its platform, to another row).
-- Every such day is at or after the earliest new event or session start: a session only grows
-- earlier, by an event that joins it, so a changed or deleted session started no earlier than
-- the one now holding its events. A day before that earliest time reaches back to its midnight.
with new_events as (
    select coalesce(user_id, anonymous_id) as user_id, (timestamp at time zone 'UTC')::date as day
    from ref('silver.app_events')
    where type in ('track', 'screen') and coalesce(user_id, anonymous_id) is not null
),

touched_users as (
    select user_id from new_events
    union
    select user_id from ref('silver.sessions')
),

-- The held rows' days include those of the sessions silver.sessions lost.
touched_days as (
    select day from new_events
    union
    select (started_at at time zone 'UTC')::date from ref('silver.sessions')
    union
    select day from this_touched('day')
),

activity as (
    select
        coalesce(user_id, anonymous_id) as user_id,
        user_id is not null as signed_in,
        (timestamp at time zone 'UTC')::date as day,
        coalesce(platform, 'unknown') as platform,
        type,
        event,
        role,
        properties,
        revenue,
        currency,
        timestamp
    from ref_since('silver.app_events', '1 day')
    where type in ('track', 'screen')
        and coalesce(user_id, anonymous_id) in (select user_id from touched_users)
        and (timestamp at time zone 'UTC')::date in (select day from touched_days)
),

event_days as (
    select
        user_id,
        day,
        platform,
        bool_or(signed_in) as signed_in,
        min(timestamp) as first_seen,
        max(timestamp) as last_seen,
        count(*) as events,
        count(*) filter (where role = 'screen_view') as screen_views,
        count(*) filter (where role = 'purchase') as purchases
    from activity
    group by user_id, day, platform
),

-- A session spanning midnight counts on the day it started only; the next day has its events.
session_days as (
    select
        user_id,
        (started_at at time zone 'UTC')::date as day,
        platform,
        bool_or(signed_in) as signed_in,
        min(started_at) as first_start,
        max(started_at) as last_start,
        count(*) as sessions
    from ref_since('silver.sessions', '1 day')
    where user_id in (select user_id from touched_users)
        and (started_at at time zone 'UTC')::date in (select day from touched_days)
    group by all
),

-- Amounts are summed as decimals (exact), per currency: euros and dollars do not add up.
revenue_per_currency as (
    select
        user_id,
        day,
        platform,
        currency,
        sum(revenue) as amount
    from activity
    where role = 'purchase'
    group by all
),

revenue as (
    select
        user_id,
        day,
        platform,
        list({'currency': currency, 'amount': coalesce(amount, 0)::double} order by currency)
            as revenue
    from revenue_per_currency
    group by user_id, day, platform
),

screen_counts as (
    select user_id, day, platform, screen, count(*) as views
    from (
        -- A screen call names its screen as the event; a `Screen Viewed` track, in `name`.
        select
            *,
            case when type = 'screen' then event else json_extract_string(properties, '$.name') end
                as screen
        from activity
        where role = 'screen_view'
    )
    where screen is not null
    group by all
),

screens as (
    select user_id, day, platform, map(list(screen order by screen), list(views order by screen))
        as screens
    from screen_counts
    group by user_id, day, platform
),

user_days as (
    select
        coalesce(e.user_id, s.user_id) as user_id,
        coalesce(e.day, s.day) as day,
        coalesce(e.platform, s.platform) as platform,
        coalesce(e.signed_in, false) or coalesce(s.signed_in, false) as signed_in,
        coalesce(e.first_seen, s.first_start) as first_seen,
        coalesce(e.last_seen, s.last_start) as last_seen,
        coalesce(s.sessions, 0) as sessions,
        coalesce(e.events, 0) as events,
        coalesce(e.screen_views, 0) as screen_views,
        coalesce(e.purchases, 0) as purchases
    from event_days as e
    full join session_days as s
        on s.user_id = e.user_id and s.day = e.day and s.platform = e.platform
),

recomputed as (
    select
        d.user_id,
        d.signed_in,
        d.day,
        d.platform,
        d.first_seen,
        d.last_seen,
        d.sessions,
        d.events,
        d.screen_views,
        d.purchases,
        coalesce(r.revenue, []) as revenue,
        coalesce(s.screens, map([]::varchar[], []::bigint[])) as screens
    from user_days as d
    left join revenue as r on r.user_id = d.user_id and r.day = d.day and r.platform = d.platform
    left join screens as s on s.user_id = d.user_id and s.day = d.day and s.platform = d.platform
),

held as (
    select *
    from this_touched('day')
    where user_id in (select user_id from touched_users)
)

select r.*, false as _deleted
from recomputed as r
left join held as h using (user_id, day, platform)
where h.user_id is null
    or (
        h.signed_in, h.first_seen, h.last_seen, h.sessions, h.events, h.screen_views,
        h.purchases, h.revenue, h.screens
    ) is distinct from (
        r.signed_in, r.first_seen, r.last_seen, r.sessions, r.events, r.screen_views,
        r.purchases, r.revenue, r.screens
    )
union all by name
-- A touched user's row that no longer holds anything: its only session moved to another day
-- or platform.
select h.user_id, h.day, h.platform, true as _deleted
from held as h
anti join recomputed as r using (user_id, day, platform)
