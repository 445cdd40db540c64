/* ---
name: gold.app_versions
materialized: replace
description: >-
  Per app version and platform (platform `*`: all platforms): first and last seen, users,
  sessions, events, crashes, and crash-free users and sessions (the share without a crash). A
  session counts for the version of its last event, the one that crashed if it did.
columns:
  app_version: {type: varchar, description: "The app version (unknown when the context names none)."}
  platform: {type: varchar, description: "ios, android, unknown, or * for all."}
  first_seen: {type: timestamptz, description: The first session's start.}
  last_seen: {type: timestamptz, description: The last session's end.}
  users: {type: bigint, description: Distinct users with a session on the version.}
  sessions: {type: bigint, description: Sessions on the version.}
  events: {type: bigint, description: Track and screen events of those sessions.}
  crashes: {type: bigint, description: "Crashes (role crash: `crash`, `Application Crashed`; setting `event_roles`)."}
  crashed_users: {type: bigint, description: Users with at least one crashed session.}
  crashed_sessions: {type: bigint, description: Sessions with at least one crash.}
  crash_free_users: {type: double, description: 1 - crashed_users / users.}
  crash_free_sessions: {type: double, description: 1 - crashed_sessions / sessions.}
checks:
  - {check: not_null, column: app_version}
--- */
-- Recomputed whole from the sessions, which are themselves recomputed on every run.
with per_version as (
    select
        app_version,
        platform,
        min(started_at) as first_seen,
        max(ended_at) as last_seen,
        count(distinct user_id) as users,
        count(*) as sessions,
        sum(events) as events,
        sum(crashes) as crashes,
        count(distinct user_id) filter (where crashes > 0) as crashed_users,
        count(*) filter (where crashes > 0) as crashed_sessions
    from ref('silver.sessions')
    group by grouping sets ((app_version, platform), (app_version))
)

select
    app_version,
    coalesce(platform, '*') as platform,
    first_seen,
    last_seen,
    users,
    sessions,
    events,
    crashes,
    crashed_users,
    crashed_sessions,
    1 - crashed_users / users as crash_free_users,
    1 - crashed_sessions / sessions as crash_free_sessions
from per_version
