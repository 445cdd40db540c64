/* ---
name: silver.identities
materialized: merge
unique_key: [anonymous_id]
cluster_by: [anonymous_id]
description: >-
  Which user each anonymous browser id belongs to: linked by identify calls (and by any event
  that carries both ids); the latest link wins.
columns:
  anonymous_id: {type: varchar, description: The SDK's anonymous id of a browser., tags: [pii]}
  user_id: {type: varchar, description: The user it was identified as., tags: [pii]}
  linked_at: {type: timestamptz, description: When the latest link was made.}
checks:
  - {check: not_null, column: user_id}
--- */
with links as (
    select anonymous_id, user_id, timestamp as linked_at
    from ref('bronze.clickstream')
    -- PostHog sends the anonymous id as distinct_id until the visitor signs in: no link yet.
    where anonymous_id is not null and user_id is not null and user_id <> anonymous_id
),

latest as (
    select *
    from links
    qualify row_number() over (partition by anonymous_id order by linked_at desc, user_id) = 1
)

-- A late link older than the one held does not replace it.
select l.anonymous_id, l.user_id, l.linked_at
from latest as l
left join this() as t on t.anonymous_id = l.anonymous_id
where t.linked_at is null or l.linked_at >= t.linked_at
