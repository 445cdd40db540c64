/* ---
name: gold.pages
materialized: merge
unique_key: [day, path]
time_column: day
partition_by: [day]
description: >-
  Per day and page path: views, visitors, entrances, exits and average time on page (seconds
  to the session's next page view; a session's last page has no time and is left out of the
  average). Distinct visitors do not add up across ticks, so a tick recounts each day
  gold.session_events rewrote rows of, whole, from that day's partition (ref_touched by day),
  merges it over the day's old rows and deletes the paths the day no longer holds.
columns:
  day: {type: date, description: The day in the reporting timezone.}
  path: {type: varchar, description: The page's path.}
  views: {type: bigint, description: Page views.}
  visitors: {type: bigint, description: Distinct browsers that viewed it.}
  entrances: {type: bigint, description: Sessions that started on it.}
  exits: {type: bigint, description: Sessions that ended on it.}
  timed_views: {type: bigint, description: Views followed by another page view of the session.}
  time_on_page_seconds: {type: double, description: Total time on the page over its timed views.}
  avg_time_on_page_seconds: {type: double, description: "time_on_page_seconds / timed_views; null without timed views."}
--- */
with pages as (
    select
        day,
        path,
        count(*) as views,
        count(distinct visitor_id) as visitors,
        count(*) filter (where is_entry) as entrances,
        count(*) filter (where is_exit) as exits,
        count(time_on_page_seconds) as timed_views,
        coalesce(sum(time_on_page_seconds), 0) as time_on_page_seconds,
        avg(time_on_page_seconds) as avg_time_on_page_seconds
    from ref_touched('gold.session_events', 'day')
    where is_pageview
    group by day, path
)

select *, false as _deleted from pages
union all by name
-- A path a touched day no longer holds: its views there moved to another day.
select day, path, true as _deleted
from this_touched('day') as held
anti join pages using (day, path)
