/* ---
name: gold.user_summary
materialized: merge
unique_key: [user_id]
cluster_by: [user_id]
description: >-
  Per user (the signed-in user_id, or the install's anonymous_id before sign-in): first and last
  seen, sessions, events, platforms, app versions, purchases, revenue per currency and the last
  event. A tick recomputes only the users whose sessions changed, from all their sessions
  (ref_touched on user_id, with no lookback: a summary covers a user's whole life), and deletes
  the summary of a user left with no session.
columns:
  user_id: {type: varchar, description: "The signed-in user, or the install's anonymous id.", tags: [pii]}
  signed_in: {type: boolean, description: Whether user_id is a signed-in user rather than an install.}
  first_seen: {type: timestamptz, description: The first event.}
  last_seen: {type: timestamptz, description: The last event.}
  sessions: {type: bigint, description: Sessions (silver.sessions).}
  events: {type: bigint, description: Track and screen events.}
  platforms: {type: "varchar[]", description: "Platforms used, sorted."}
  app_versions: {type: "varchar[]", description: "App versions used, in the order first used."}
  purchases: {type: bigint, description: "Purchases (role purchase: `purchase`, `Order Completed`; setting `event_roles`)."}
  revenue: {type: "struct(currency varchar, amount double)[]", description: "Sum of the purchases' revenue (properties.revenue, else total, else value), per properties.currency (null when a purchase names none), sorted by currency."}
  last_event: {type: varchar, description: The name of the last event (the screen of a screen view).}
checks:
  - {check: not_null, column: user_id}
  - {check: unique, column: user_id}
--- */
-- Recomputed per user from their sessions rather than added to: a tick may join, move or
-- delete sessions the summary already counted, and only a recount takes those out.
with sessions as (
    select * from ref_touched('silver.sessions', 'user_id')
),

per_user as (
    select
        user_id,
        bool_or(signed_in) as signed_in,
        min(started_at) as first_seen,
        max(ended_at) as last_seen,
        count(*) as sessions,
        sum(events) as events,
        list(distinct platform order by platform) as platforms,
        sum(purchases) as purchases,
        first(last_event order by ended_at desc, session_id desc) as last_event
    from sessions
    group by user_id
),

version_first_used as (
    select user_id, app_version, min(started_at) as first_used
    from sessions
    group by all
),

versions as (
    select user_id, list(app_version order by first_used, app_version) as app_versions
    from version_first_used
    group by user_id
),

-- The sessions' decimal amounts, summed per currency (exact): euros and dollars do not add up.
revenue_per_currency as (
    select user_id, entry.currency, sum(entry.amount) as amount
    from (select user_id, unnest(revenue) as entry from sessions)
    group by all
),

revenue as (
    select
        user_id,
        list({'currency': currency, 'amount': coalesce(amount, 0)::double} order by currency)
            as revenue
    from revenue_per_currency
    group by user_id
)

select
    per_user.user_id,
    per_user.signed_in,
    per_user.first_seen,
    per_user.last_seen,
    per_user.sessions,
    per_user.events,
    per_user.platforms,
    versions.app_versions,
    per_user.purchases,
    coalesce(revenue.revenue, []) as revenue,
    per_user.last_event,
    false as _deleted
from per_user
join versions on versions.user_id = per_user.user_id
left join revenue on revenue.user_id = per_user.user_id
union all
-- A user whose sessions are all gone (erased, or past retention) has no summary either.
select
    t.user_id,
    t.signed_in,
    t.first_seen,
    t.last_seen,
    t.sessions,
    t.events,
    t.platforms,
    t.app_versions,
    t.purchases,
    t.revenue,
    t.last_event,
    true as _deleted
from this_touched('user_id') as t
anti join per_user on per_user.user_id = t.user_id
