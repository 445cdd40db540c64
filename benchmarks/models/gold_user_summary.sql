/* ---
name: gold.user_summary
materialized: merge
unique_key: [user_id]
description: Per user, what they did so far; each batch is added to the stored summary.
columns:
  user_id: {type: varchar}
  first_seen: {type: timestamptz}
  last_seen: {type: timestamptz}
  events: {type: bigint}
  purchases: {type: bigint}
  revenue: {type: double}
--- */
with batch as (
    select
        user_id,
        min(timestamp) as first_seen,
        max(timestamp) as last_seen,
        count(*) as events,
        count(*) filter (where event = 'purchase') as purchases,
        coalesce(sum(amount), 0) as revenue
    from ref('silver.events')
    group by user_id
)

select
    b.user_id,
    least(b.first_seen, coalesce(s.first_seen, b.first_seen)) as first_seen,
    greatest(b.last_seen, coalesce(s.last_seen, b.last_seen)) as last_seen,
    b.events + coalesce(s.events, 0) as events,
    b.purchases + coalesce(s.purchases, 0) as purchases,
    b.revenue + coalesce(s.revenue, 0) as revenue
from batch as b
left join this() as s on s.user_id = b.user_id
