/* ---
name: silver.events
materialized: append
time_column: timestamp
description: App and web events in one shape, each event_id once (retries arrive within a day).
columns:
  event_id: {type: varchar}
  user_id: {type: varchar}
  platform: {type: varchar}
  app_version: {type: varchar}
  event: {type: varchar}
  amount: {type: double}
  timestamp: {type: timestamptz}
--- */
with arrived as (
    select event_id, user_id, platform, app_version, event, amount, timestamp
    from ref('bronze.app_events')
    union all
    select event_id, user_id, 'web' as platform, cast(null as varchar) as app_version, event, amount, timestamp
    from ref('bronze.page_events')
),

-- Retries are rare: only ids seen twice pay for the ordering that keeps the first.
repeated as (
    select event_id from arrived group by event_id having count(*) > 1
),

unpublished as (
    select * from arrived
    where event_id not in (select event_id from this_since('1 day'))
),

first_of_repeated as (
    select * from unpublished
    where event_id in (select event_id from repeated)
    qualify row_number() over (partition by event_id order by timestamp) = 1
)

select * from unpublished
where event_id not in (select event_id from repeated)
union all
select * from first_of_repeated
