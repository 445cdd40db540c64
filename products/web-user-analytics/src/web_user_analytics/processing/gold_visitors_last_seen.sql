/* ---
name: gold.visitors_last_seen
materialized: replace
cluster_by: [visitor_id]
description: >-
  One row per browser: when it was last seen and on which page, bots left out as in
  gold.session_events; /web/realtime counts the rows seen in the last minutes. Recomputed on
  every run: an incremental merge would need the parsed user agents (for the bot flag) of
  every browser, which an incremental read of silver.user_agents does not hold.
columns:
  visitor_id: {type: varchar, description: The browser (its anonymous id)., tags: [pii]}
  last_seen_at: {type: timestamptz, description: Its latest event.}
  last_page: {type: varchar, description: The page of its latest event.}
  device_type: {type: varchar, description: "desktop, mobile, tablet, bot or other."}
checks:
  - {check: unique, column: visitor_id}
--- */
select
    visitor_id,
    max(timestamp) as last_seen_at,
    arg_max(path, (timestamp, event_id)) as last_page,
    arg_max(device_type, (timestamp, event_id)) as device_type
from ref('gold.session_events')
group by visitor_id
