/* ---
name: gold.app_versions
materialized: merge
unique_key: [app_version, platform]
description: >-
  Per app version and platform (platform `*`: all platforms): first and last seen, users,
  sessions, events, crashes, and crash-free users and sessions (the share without a crash). A
  session counts for the version of its last event, the one that crashed if it did. Distinct
  users do not add up, so a tick recounts only the versions its sessions touch (new or changed
  sessions, and those deleted or moved off a version), from all their sessions (ref_touched on
  app_version: a version's sessions since its release, not the whole history), and deletes a
  platform's row of a version left with no session there.
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
with sessions as (
    select * from ref_touched('silver.sessions', 'app_version')
),

per_version as (
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
    from sessions
    group by grouping sets ((app_version, platform), (app_version))
),

recounted as (
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
)

select *, false as _deleted from recounted
union all
-- A platform's row of a version left with no session there.
select
    t.app_version,
    t.platform,
    t.first_seen,
    t.last_seen,
    t.users,
    t.sessions,
    t.events,
    t.crashes,
    t.crashed_users,
    t.crashed_sessions,
    t.crash_free_users,
    t.crash_free_sessions,
    true as _deleted
from this_touched('app_version') as t
anti join recounted as r on r.app_version = t.app_version and r.platform = t.platform
