/* ---
name: gold.dormant_key_uses
materialized: replace
description: >-
  Uses of an API key that had sat idle for dormant_key_days or more: unused since its creation
  or its previous use. A key's first audited use with no creation on record is not judged.
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
    from ref('silver.key_activity')
)

select
    key_name,
    seq,
    recorded_at as used_at,
    action,
    route,
    table_name,
    idle_since,
    previous_activity,
    date_diff('second', idle_since, recorded_at) / 86400.0 as idle_days
from activity
where activity = 'used'
    and idle_since is not null
    and recorded_at - idle_since >= to_days(cast(var('dormant_key_days') as integer))
