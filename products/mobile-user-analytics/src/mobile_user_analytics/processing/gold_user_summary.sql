/* ---
name: gold.user_summary
materialized: replace
cluster_by: [user_id]
description: >-
  Per user (the signed-in user_id, or the install's anonymous_id before sign-in): first and last
  seen, sessions, events, platforms, app versions, purchases, revenue per currency and the last
  event. Recomputed whole from the sessions, which a late event may join or split.
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
with per_user as (
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
    from ref('silver.sessions')
    group by user_id
),

version_first_used as (
    select user_id, app_version, min(started_at) as first_used
    from ref('silver.sessions')
    group by all
),

versions as (
    select user_id, list(app_version order by first_used, app_version) as app_versions
    from version_first_used
    group by user_id
),

-- Amounts are summed as decimals (exact), per currency: euros and dollars do not add up.
revenue_per_currency as (
    select
        coalesce(user_id, anonymous_id) as user_id,
        currency,
        sum(revenue) as amount
    from ref('silver.app_events')
    where role = 'purchase' and coalesce(user_id, anonymous_id) is not null
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
    per_user.last_event
from per_user
join versions on versions.user_id = per_user.user_id
left join revenue on revenue.user_id = per_user.user_id
