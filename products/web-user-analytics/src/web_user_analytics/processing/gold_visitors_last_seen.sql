/* ---
name: gold.visitors_last_seen
materialized: merge
unique_key: [visitor_id]
cluster_by: [visitor_id]
description: >-
  One row per browser: when it was last seen and on which page, bots left out as in
  gold.session_events; /web/realtime counts the rows seen in the last minutes. A tick reads the
  rows gold.session_events rewrote and the held rows of their browsers, and merges on
  visitor_id (of two events at the same microsecond, the one rewritten last wins).
columns:
  visitor_id: {type: varchar, description: The browser (its anonymous id)., tags: [pii]}
  last_seen_at: {type: timestamptz, description: Its latest event.}
  last_page: {type: varchar, description: The page of its latest event.}
  device_type: {type: varchar, description: "desktop, mobile, tablet, bot or other."}
checks:
  - {check: unique, column: visitor_id}
--- */
with rewritten as (
    select
        visitor_id,
        max(timestamp) as last_seen_at,
        arg_max(path, (timestamp, event_id)) as last_page,
        arg_max(device_type, (timestamp, event_id)) as device_type
    from ref('gold.session_events')
    group by visitor_id
)

-- An event's time and page never change when it is rewritten (a new link changes its user
-- only), so the later of the held row and the rewritten events is the browser's latest.
select r.*
from rewritten as r
left join this() as t on t.visitor_id = r.visitor_id
where t.last_seen_at is null
    or r.last_seen_at > t.last_seen_at
    or (
        r.last_seen_at = t.last_seen_at
        and row(r.last_page, r.device_type) is distinct from row(t.last_page, t.device_type)
    )
