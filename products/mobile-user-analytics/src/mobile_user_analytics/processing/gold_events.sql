/* ---
name: gold.events
materialized: merge
unique_key: [day, event]
time_column: day
partition_by: [day]
description: >-
  Per UTC day and track event name, under the name the app sent (`Application Opened`,
  `Signup Completed`, `crash`...): how many times it was sent, by how many users (the signed-in
  user_id, or the install before sign-in), the role it counts as (setting `event_roles`; null
  for a name of none of them, which the activity tables count as `other_events`), and the
  amounts it carried per currency (revenue, else total, else value; euros and dollars do not
  add up). Screen calls are in gold.user_days (`screens`). Only the days holding new events
  change; each is recounted whole from that day's events and merged over its old rows.
columns:
  day: {type: date, description: The day (UTC).}
  event: {type: varchar, description: The event's name as sent.}
  role: {type: varchar, description: "app_open, app_background, screen_view, tap, add_to_cart, purchase, crash, or null for none."}
  events: {type: bigint, description: Times it was sent (each event_id once).}
  users: {type: bigint, description: Distinct users who sent it.}
  revenue: {type: "struct(currency varchar, amount double)[]", description: "Sum of the amounts the events carried, per properties.currency (null when an event names none), sorted by currency; empty when none carried one."}
checks:
  - {check: not_null, column: event}
  - {check: sql, sql: "select day, event from batch group by all having count(*) > 1"}
--- */
-- A day's distinct users need the whole day: the events from a day before the earliest new one.
with tracked as (
    select
        (timestamp at time zone 'UTC')::date as day,
        event,
        role,
        coalesce(user_id, anonymous_id) as user_id,
        revenue,
        currency
    from ref_since('silver.app_events', '1 day')
    where type = 'track'
),

touched as (
    select distinct (timestamp at time zone 'UTC')::date as day
    from ref('silver.app_events')
    where type = 'track'
),

in_touched_days as (
    select *
    from tracked
    where day in (select day from touched)
),

per_event as (
    select
        day,
        event,
        any_value(role) as role,
        count(*) as events,
        count(distinct user_id) as users
    from in_touched_days
    group by day, event
),

-- Amounts are summed as decimals (exact), per currency.
per_currency as (
    select day, event, currency, sum(revenue) as amount
    from in_touched_days
    where revenue is not null
    group by day, event, currency
),

revenue as (
    select
        day,
        event,
        list({'currency': currency, 'amount': amount::double} order by currency) as revenue
    from per_currency
    group by day, event
)

select p.day, p.event, p.role, p.events, p.users, coalesce(r.revenue, []) as revenue
from per_event as p
left join revenue as r on r.day = p.day and r.event = p.event
