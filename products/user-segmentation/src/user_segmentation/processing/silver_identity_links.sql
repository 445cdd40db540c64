/* ---
name: silver.identity_links
materialized: replace
description: >-
  Every (user id, anonymous id) pair that the mobile and web products saw together (an identify
  or alias call, or any event carrying both), with the product that saw it; on mobile the
  anonymous id is the app install. Read whole from both products' gold.identity_links on each
  run, so the graph follows any correction there.
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
select
    'mobile-user-analytics' as product,
    user_id,
    anonymous_id,
    first_linked_at,
    last_linked_at
from source('mobile-user-analytics', 'gold.identity_links')
where user_id is not null and anonymous_id is not null and user_id <> anonymous_id

union all

select
    'web-user-analytics' as product,
    user_id,
    anonymous_id,
    first_linked_at,
    last_linked_at
from source('web-user-analytics', 'gold.identity_links')
where user_id is not null and anonymous_id is not null and user_id <> anonymous_id
