/* ---
name: silver.counter_increases
materialized: append
time_column: scraped_at
description: >-
  How much each request counter and latency series of the gateway grew since the service's
  previous scrape (only series that grew). Counters restart from 0 when the gateway restarts, so
  a series lower than before, or missing from the previous scrape, counts its whole value. The
  first scrape, and the first after a gap of more than 10 minutes, only sets the baseline.
columns:
  scraped_at: {type: timestamptz, description: The scrape that saw the growth (it happened since the previous one).}
  service: {type: varchar, description: The scraped service.}
  metric: {type: varchar, description: The sample's name.}
  product: {type: varchar, description: "The product of the route, or platform."}
  route: {type: varchar, description: The route template.}
  method: {type: varchar, description: The HTTP method.}
  status: {type: integer, description: The HTTP status (request counters only).}
  le: {type: double, description: A latency bucket's upper bound in seconds.}
  increase: {type: double, description: "Requests (or seconds, for _sum) added since the previous scrape."}
--- */
-- Each new scrape is compared with the service's previous one if that came at most 10 minutes
-- earlier (the platform scrapes every 10 s); a batch reads the 10 minutes before it for that.
with samples as (
    select * from ref_since('silver.metric_samples', '10 minutes')
),

scrapes as (
    select
        service,
        scraped_at,
        lag(scraped_at) over (partition by service order by scraped_at) as previous_scrape
    from (select distinct service, scraped_at from samples)
    qualify scraped_at - previous_scrape <= interval 10 minutes
),

series as (
    select
        *,
        lag(scraped_at) over by_series as previously_seen,
        lag(value) over by_series as previous_value
    from samples
    window by_series as (
        partition by service, metric, route, method, status, le order by scraped_at
    )
),

increases as (
    select
        series.*,
        case
            -- Not in the previous scrape: created since (a route's first request, or the
            -- service restarted), so it counted up from 0.
            when series.previously_seen is distinct from scrapes.previous_scrape then series.value
            -- Lower than before: the service restarted and counted up from 0 again.
            when series.value < series.previous_value then series.value
            else series.value - series.previous_value
        end as increase
    from series
    join scrapes using (service, scraped_at)
)

select scraped_at, service, metric, product, route, method, status, le, increase
from increases
where increase > 0
and scraped_at in (select scraped_at from ref('silver.metric_samples'))
