/* ---
name: gold.dormant_key_uses
materialized: merge
unique_key: [key_name, seq]
description: >-
  Uses of an API key that had sat idle for dormant_key_days or more: unused since its creation
  or its previous use. A key's first audited use with no creation on record is not judged.
  A tick reads every silver.key_activity row of the keys created, used or removed since the
  last tick (an idle stretch may reach back any time) and judges their uses again, writing only
  the verdicts that changed (deleting uses no longer dormant): it costs those keys' activity,
  one row per audited use, found by scanning silver.key_activity by key.
columns:
  key_name: {type: varchar, description: "The key: key:<name>.", tags: [pii]}
  seq: {type: bigint, description: The use's place in the audit chain.}
  used_at: {type: timestamptz, description: When it was used again.}
  action: {type: varchar, description: "What it did: data.read, ..."}
  route: {type: varchar, description: The route template of the request.}
  table_name: {type: varchar, description: "The table it touched, if any."}
  idle_since: {type: timestamptz, description: Its previous activity.}
  previous_activity: {type: varchar, description: "created or used."}
  idle_days: {type: double, description: Days between the two.}
--- */
with activity as (
    select
        *,
        lag(recorded_at) over (partition by key_name order by seq) as idle_since,
        lag(activity) over (partition by key_name order by seq) as previous_activity
    from ref_touched('silver.key_activity', 'key_name')
),

dormant as (
    select
        key_name,
        seq,
        recorded_at as used_at,
        action,
        route,
        table_name,
        idle_since,
        previous_activity,
        cast(date_diff('second', idle_since, recorded_at) / 86400.0 as double) as idle_days
    from activity
    where activity = 'used'
        and idle_since is not null
        and recorded_at - idle_since >= to_days(cast(var('dormant_key_days') as integer))
),

held as (
    select
        key_name, seq, used_at, action, route, table_name, idle_since, previous_activity, idle_days
    from this_touched('key_name')
)

-- A use held as it is would only rewrite files: the new and the changed ones are written.
select dormant.*, false as _deleted
from dormant
left join held using (key_name, seq)
where held.key_name is null
    or (dormant.used_at, dormant.action, dormant.route, dormant.table_name, dormant.idle_since,
        dormant.previous_activity, dormant.idle_days)
    is distinct from (held.used_at, held.action, held.route, held.table_name, held.idle_since,
        held.previous_activity, held.idle_days)

union all

-- Uses no longer dormant, or no longer there.
select held.*, true as _deleted
from held
anti join dormant using (key_name, seq)
