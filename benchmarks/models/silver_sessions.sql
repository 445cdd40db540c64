/* ---
name: silver.sessions
materialized: merge
unique_key: [session_id]
time_column: started_at
description: Sessions per user, split after 30 minutes without events; new events extend the user's open session.
columns:
  session_id: {type: varchar}
  user_id: {type: varchar}
  started_at: {type: timestamptz}
  ended_at: {type: timestamptz}
  events: {type: bigint}
--- */
with new_events as (
    select user_id, timestamp from ref('silver.events')
),

-- Each touched user's latest session: the batch's first events may continue it.
open_sessions as (
    select session_id, user_id, started_at, ended_at, events
    from this_since('1 day')
    where user_id in (select user_id from new_events)
    qualify row_number() over (partition by user_id order by ended_at desc) = 1
),

points as (
    select user_id, ended_at as timestamp, session_id, started_at, events as earlier_events
    from open_sessions
    union all
    select user_id, timestamp, cast(null as varchar), cast(null as timestamptz), cast(0 as bigint)
    from new_events
),

marked as (
    select *,
        lag(timestamp) over by_time as previous
    from points
    window by_time as (partition by user_id order by timestamp, earlier_events desc)
),

numbered as (
    select *,
        sum(case when previous is null or timestamp - previous > interval 30 minutes then 1 else 0 end)
            over (partition by user_id order by timestamp, earlier_events desc
                  rows between unbounded preceding and current row) as session_number
    from marked
)

select
    coalesce(max(session_id), md5(user_id || cast(min(timestamp) as varchar))) as session_id,
    user_id,
    coalesce(min(started_at), min(timestamp)) as started_at,
    max(timestamp) as ended_at,
    cast(sum(earlier_events) + count(*) - count(session_id) as bigint) as events
from numbered
group by user_id, session_number
