/* ---
name: gold.identity_links
materialized: merge
unique_key: [user_id, anonymous_id]
description: >-
  Every pair of a user id and a browser's anonymous id seen together (on an identify call, an
  alias's previous id, or any event carrying both), with when the pair was first and last seen.
  Published for identity stitching across products (user-segmentation, compliance erasure).
columns:
  user_id: {type: varchar, description: The signed-in user., tags: [pii]}
  anonymous_id: {type: varchar, description: "A browser's anonymous id, or an alias's previous id.", tags: [pii]}
  first_linked_at: {type: timestamptz, description: When the pair was first seen.}
  last_linked_at: {type: timestamptz, description: When the pair was last seen.}
checks:
  - {check: not_null, column: user_id}
  - {check: not_null, column: anonymous_id}
--- */
with pairs as (
    select user_id, anonymous_id, timestamp as seen_at
    from ref('bronze.clickstream')
    union all
    select user_id, json_extract_string(properties, '$.previousId'), timestamp
    from ref('bronze.clickstream')
    where type = 'alias'
),

batch as (
    select
        user_id,
        anonymous_id,
        min(seen_at) as first_linked_at,
        max(seen_at) as last_linked_at
    from pairs
    where user_id is not null and anonymous_id is not null and user_id <> anonymous_id
    group by user_id, anonymous_id
)

-- A pair seen again widens its span; an event arriving late may move its first sighting back.
select
    b.user_id,
    b.anonymous_id,
    least(b.first_linked_at, coalesce(t.first_linked_at, b.first_linked_at)) as first_linked_at,
    greatest(b.last_linked_at, coalesce(t.last_linked_at, b.last_linked_at)) as last_linked_at
from batch as b
left join this() as t on t.user_id = b.user_id and t.anonymous_id = b.anonymous_id
