/* ---
name: gold.events
materialized: merge
unique_key: [day, event]
time_column: day
partition_by: [day]
description: >-
  Per day in the reporting timezone and tracked event name, under the name the site sent
  (`Order Completed`, `Signup Completed`, `click`...): how many times it was sent, by how many
  people (the user when known, else the browser), how many of them were conversions, and the
  amounts they carried per currency (revenue, else total, else value; euros and dollars do not
  add up). Page views are in gold.pages; known bots are left out as in gold.session_events.
  Distinct people do not add up across ticks, so a tick recounts each day gold.session_events
  rewrote rows of, whole, from that day's partition (ref_touched by day), merges it over the
  day's old rows and deletes the names the day no longer holds.
columns:
  day: {type: date, description: The day in the reporting timezone.}
  event: {type: varchar, description: The event's name as sent.}
  events: {type: bigint, description: Times it was sent (each event_id once).}
  users: {type: bigint, description: "Distinct people who sent it: the user when known, else the browser."}
  conversions: {type: bigint, description: "Of them, conversions (the name is in `conversion_events`)."}
  revenue: {type: "struct(currency varchar, amount double)[]", description: "Sum of the amounts the events carried, per currency (null when an event names none), sorted by currency; empty when none carried one."}
checks:
  - {check: not_null, column: event}
  - {check: sql, sql: "select day, event from batch group by all having count(*) > 1"}
--- */
with tracked as (
    select day, event, person_id, is_conversion, revenue, currency
    from ref_touched('gold.session_events', 'day')
    where not is_pageview
),

per_event as (
    select
        day,
        event,
        count(*) as events,
        count(distinct person_id) as users,
        count(*) filter (where is_conversion) as conversions
    from tracked
    group by day, event
),

per_currency as (
    select day, event, currency, sum(revenue) as amount
    from tracked
    where revenue is not null
    group by day, event, currency
),

revenue as (
    select day, event, list({'currency': currency, 'amount': amount} order by currency) as revenue
    from per_currency
    group by day, event
)

select
    p.day,
    p.event,
    p.events,
    p.users,
    p.conversions,
    coalesce(r.revenue, []) as revenue,
    false as _deleted
from per_event as p
left join revenue as r on r.day = p.day and r.event = p.event
union all by name
-- A name a touched day no longer holds: its events there moved to another day.
select day, event, true as _deleted
from this_touched('day') as held
anti join per_event using (day, event)
