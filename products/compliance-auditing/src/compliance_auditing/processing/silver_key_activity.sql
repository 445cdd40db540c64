/* ---
name: silver.key_activity
materialized: append
time_column: recorded_at
description: >-
  When each API key was created (`keys.create`) and each time it was used (an audit entry whose
  actor is the key), from the platform's audit log.
columns:
  seq: {type: bigint, description: The entry's place in the audit chain.}
  recorded_at: {type: timestamptz, description: When it happened.}
  key_name: {type: varchar, description: "The key, as the audit log names its uses: key:<name>.", tags: [pii]}
  activity: {type: varchar, description: "created or used."}
  action: {type: varchar, description: "The audited action: keys.create, data.read, ..."}
  route: {type: varchar, description: The route template of the request.}
  table_name: {type: varchar, description: "The table it touched, if any."}
checks:
  - {check: not_null, column: key_name}
  - {check: accepted_values, column: activity, values: [created, used]}
--- */
with audit as (
    select * from source('platform', 'gold.audit_log')
)

select seq, recorded_at, actor as key_name, 'used' as activity, action, route, table_name
from audit
where actor_kind = 'api_key'

union all

-- The entry of a creation names its actor (the admin); the key is in its detail.
select
    seq,
    recorded_at,
    'key:' || json_extract_string(detail, '$.name') as key_name,
    'created' as activity,
    action,
    route,
    table_name
from audit
where action = 'keys.create' and outcome = 'success' and json_extract_string(detail, '$.name') is not null
