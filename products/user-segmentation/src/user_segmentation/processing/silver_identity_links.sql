/* ---
name: silver.identity_links
materialized: merge
unique_key: [product, user_id, anonymous_id]
description: >-
  Every (user id, anonymous id) pair that the mobile and web products saw together (an identify
  or alias call, or any event carrying both), with the product that saw it; on mobile the
  anonymous id is the app install. A tick reads only the pairs the two products'
  gold.identity_links gained or widened since the last run, and merges them on the pair.
columns:
  product: {type: varchar, description: "mobile-user-analytics or web-user-analytics."}
  user_id: {type: varchar, description: "The signed-in user.", tags: [pii]}
  anonymous_id: {type: varchar, description: "A browser's anonymous id, or an app install id.", tags: [pii]}
  first_linked_at: {type: timestamptz, description: "When the pair was first seen together."}
  last_linked_at: {type: timestamptz, description: "When the pair was last seen together."}
checks:
  - {check: not_null, column: user_id}
  - {check: not_null, column: anonymous_id}
--- */
-- A pair naming the same id twice (PostHog's distinct_id before sign-in) links nothing.
-- A pair widened by several commits since the last run comes once per commit; its span only
-- ever widens upstream, so the widest is the latest.
with pairs as (
    select 'mobile-user-analytics' as product, user_id, anonymous_id, first_linked_at, last_linked_at
    from source('mobile-user-analytics', 'gold.identity_links')
    union all
    select 'web-user-analytics', user_id, anonymous_id, first_linked_at, last_linked_at
    from source('web-user-analytics', 'gold.identity_links')
)

select
    product,
    user_id,
    anonymous_id,
    min(first_linked_at) as first_linked_at,
    max(last_linked_at) as last_linked_at
from pairs
where user_id is not null and anonymous_id is not null and user_id <> anonymous_id
group by product, user_id, anonymous_id
