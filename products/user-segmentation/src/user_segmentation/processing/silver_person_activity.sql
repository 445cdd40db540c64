/* ---
name: silver.person_activity
materialized: merge
unique_key: [day, row_key]
time_column: timestamp
partition_by: [day]
cluster_by: [person_id]
description: >-
  What gold.user_features is computed from, kept so that a tick never rereads history: every
  web event (web-user-analytics gold.session_events) and every app day (mobile-user-analytics
  gold.user_days), each with the person it belongs to, and the person of every linked id
  (silver.identity_graph). A tick reads the rows the two gold tables and the graph gained, the
  links of this table (their own partition), and, when the graph moved ids to another person,
  this table's rows of those ids; it writes the new rows and the rows whose person changed.
columns:
  row_key: {type: varchar, description: "`web:<event_id>`, `app:<user_id>:<platform>` (with `day`), or `link:<id_kind>:<identifier>`.", tags: [pii]}
  day: {type: date, description: "The UTC day of the activity; 1970-01-01 for a link, which has no time."}
  kind: {type: varchar, description: "web (an event), app (a user's day on a platform) or link (an id of the graph)."}
  person_id: {type: varchar, description: "The person: the smallest user id linked, or the id itself when it is linked to nothing.", tags: [pii]}
  identified: {type: boolean, description: "Of an event or app day: whether it names a user id, its own or through the graph."}
  id_kind: {type: varchar, description: "Of a link: user or anonymous."}
  identifier: {type: varchar, description: "Of a link: the user id or anonymous id.", tags: [pii]}
  user_id: {type: varchar, description: "Of an event: its user id. Of an app day: the signed-in user, or the install before sign-in.", tags: [pii]}
  visitor_id: {type: varchar, description: "Of an event: the browser.", tags: [pii]}
  signed_in: {type: boolean, description: "Of an app day: whether user_id is a signed-in user rather than an install."}
  platform: {type: varchar, description: "Of an app day: ios, android or unknown."}
  session_id: {type: varchar, description: "Of an event: its web session."}
  timestamp: {type: timestamptz, description: "When the event happened; an app day's first event."}
  last_seen: {type: timestamptz, description: "Of an app day: its latest event."}
  event: {type: varchar, description: "Of an event: its name, or the page's."}
  is_pageview: {type: boolean, description: "Of an event: whether it is a page view."}
  is_conversion: {type: boolean, description: "Of an event: whether it is a conversion."}
  revenue: {type: double, description: "Of an event: its amount. Of an app day: its purchases' revenue in `currency`."}
  path: {type: varchar, description: "Of an event: the page's path."}
  sessions: {type: bigint, description: "Of an app day: sessions started."}
  events: {type: bigint, description: "Of an app day: track and screen events."}
  purchases: {type: bigint, description: "Of an app day: purchases."}
  screens: {type: "map(varchar, bigint)", description: "Of an app day: views per screen."}
checks:
  - {check: not_null, column: person_id}
  - {check: accepted_values, column: kind, values: [web, app, link]}
--- */
-- A person is the smallest user id of their component of the graph, else the id itself: a web
-- event belongs to the person of its user id, else of its browser, else to its user id, else
-- its browser; an app day to the person of its user (a signed-in user, or an install).
--
-- Links hold no time: they sit in the partition of 1970-01-01, older than any activity, so a
-- tick reads the links alone (a filter on the partition), and lookbacks never reach them.
--
-- A row rewritten by several commits of gold.session_events or gold.user_days since the last
-- run comes once per commit, and the change feed tells no order between them: an event keeps
-- the first of its versions by (session_id, user_id), an app day the one with the most events
-- (they only grow). Versions that agree (the usual case: web rewrites a browser's day whole)
-- make no difference.
with web_new as (
    select
        'web:' || event_id as row_key,
        (timestamp at time zone 'UTC')::date as day,
        'web' as kind,
        user_id,
        visitor_id,
        session_id,
        timestamp,
        event,
        is_pageview,
        is_conversion,
        revenue,
        path
    from source('web-user-analytics', 'gold.session_events')
    where coalesce(user_id, visitor_id) is not null
    qualify row_number() over (partition by event_id order by session_id, user_id nulls last) = 1
),

app_new as (
    select
        'app:' || user_id || ':' || coalesce(platform, 'unknown') as row_key,
        day,
        'app' as kind,
        user_id,
        signed_in,
        coalesce(platform, 'unknown') as platform,
        first_seen as timestamp,
        last_seen,
        sessions,
        events,
        purchases,
        coalesce(list_sum(list_transform(
            list_filter(revenue, lambda r: r.currency = var('currency')), lambda r: r.amount
        )), 0)::double as revenue,
        screens
    from source('mobile-user-analytics', 'gold.user_days')
    where user_id is not null
    qualify row_number() over (
        partition by user_id, day, platform order by events desc, last_seen desc, sessions desc
    ) = 1
),

-- An id rewritten by several graph commits since the last run comes once per commit; its
-- person only ever moves to a smaller user id, so the smallest is the latest.
graph_new as (
    select
        'link:' || g.kind || ':' || g.identifier as row_key,
        date '1970-01-01' as day,
        'link' as kind,
        g.kind as id_kind,
        g.identifier,
        min(g.person_id) as person_id
    from ref('silver.identity_graph') as g
    group by g.kind, g.identifier
),

-- Links are found by row_key, which names the id's kind: a filter on id_kind would be pushed
-- into the scan of this table (see `moved`).
stored_links as (
    select row_key, person_id from this() where day = date '1970-01-01'
),

-- The ids the graph gave a person, or moved to another one, since the last run.
relinked as (
    select g.*
    from graph_new as g
    left join stored_links as s using (row_key)
    where s.person_id is distinct from g.person_id
),

links as (
    select row_key, person_id from relinked
    union all
    select row_key, person_id from stored_links
    where row_key not in (select row_key from relinked)
),

-- The activity of the relinked ids, whose person may change. Read only on a tick that relinks.
-- Its app days are told from its events by `signed_in`, not by `kind`: DuckDB pushes a filter
-- on a text column into the scan of this table, which fails on the files delta-rs's merges
-- wrote as string_view (the whole query then runs again, reading every file).
moved as (
    select *
    from this()
    where day <> date '1970-01-01'
        and exists (select 1 from relinked)
        and (
            user_id in (select identifier from relinked)
            or visitor_id in (select identifier from relinked)
        )
),

-- Unions list their columns in order, not by name, so that the column lineage follows them.
web_events as (
    select *, null as was_person_id, null as was_identified from web_new
    union all
    select
        row_key, day, kind, user_id, visitor_id, session_id, timestamp, event, is_pageview,
        is_conversion, revenue, path, person_id, identified
    from moved
    where signed_in is null and row_key not in (select row_key from web_new)
),

app_days as (
    select *, null as was_person_id, null as was_identified from app_new
    union all
    select
        row_key, day, kind, user_id, signed_in, platform, timestamp, last_seen, sessions,
        events, purchases, revenue, screens, person_id, identified
    from moved as m
    where signed_in is not null
        and not exists (select 1 from app_new as a where a.row_key = m.row_key and a.day = m.day)
),

web_attributed as (
    select
        e.*,
        coalesce(by_user.person_id, by_browser.person_id, e.user_id, e.visitor_id) as person_id,
        coalesce(by_user.person_id, by_browser.person_id, e.user_id) is not null as identified
    from web_events as e
    left join links as by_user on by_user.row_key = 'link:user:' || e.user_id
    left join links as by_browser on by_browser.row_key = 'link:anonymous:' || e.visitor_id
),

app_attributed as (
    select
        d.*,
        coalesce(l.person_id, d.user_id) as person_id,
        l.person_id is not null or d.signed_in as identified
    from app_days as d
    left join links as l
        on l.row_key = if(d.signed_in, 'link:user:', 'link:anonymous:') || d.user_id
),

-- The rows that changed, one per row_key (the three kinds' keys never meet): joined rather
-- than stacked in a union, whose placeholder nulls would hide where each column comes from.
web_changed as (
    select *
    from web_attributed
    where was_person_id is null
        or row(person_id, identified) is distinct from row(was_person_id, was_identified)
),

app_changed as (
    select *
    from app_attributed
    where was_person_id is null
        or row(person_id, identified) is distinct from row(was_person_id, was_identified)
)

select
    coalesce(w.row_key, a.row_key, l.row_key) as row_key,
    coalesce(w.day, a.day, l.day) as day,
    coalesce(w.kind, a.kind, l.kind) as kind,
    coalesce(w.person_id, a.person_id, l.person_id) as person_id,
    coalesce(w.identified, a.identified) as identified,
    l.id_kind,
    l.identifier,
    coalesce(w.user_id, a.user_id) as user_id,
    w.visitor_id,
    a.signed_in,
    a.platform,
    w.session_id,
    coalesce(w.timestamp, a.timestamp) as timestamp,
    a.last_seen,
    w.event,
    w.is_pageview,
    w.is_conversion,
    coalesce(w.revenue, a.revenue) as revenue,
    w.path,
    a.sessions,
    a.events,
    a.purchases,
    a.screens
from web_changed as w
full join app_changed as a on a.row_key = w.row_key
full join relinked as l on l.row_key = coalesce(w.row_key, a.row_key)
