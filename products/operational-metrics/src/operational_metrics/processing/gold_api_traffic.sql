/* ---
name: gold.api_traffic
materialized: merge
unique_key: [minute, product]
time_column: minute
description: >-
  API requests per product and minute (UTC) through the gateway: requests, 5xx and 4xx answers,
  and the latency histogram (cumulative buckets), from the growth of the gateway's counters.
  Routes outside every product's prefix count for `platform`.
columns:
  minute: {type: timestamptz, description: The minute (UTC) of the scrapes that saw the requests.}
  product: {type: varchar, description: "The product whose API answered, or platform."}
  requests: {type: bigint, description: Requests answered.}
  server_errors: {type: bigint, description: Requests answered with a 5xx status.}
  client_errors: {type: bigint, description: Requests answered with a 4xx status.}
  latency_count: {type: bigint, description: Requests timed by the latency histogram.}
  latency_sum_seconds: {type: double, description: Their total time in seconds.}
  latency_buckets: {type: 'struct(le double, requests bigint)[]', description: "Cumulative buckets: requests answered within `le` seconds (buckets no request fell in are left out)."}
--- */
-- The minutes holding new growth are recounted whole and merged over their old rows.
with touched as (
    select distinct date_trunc('minute', scraped_at) as minute
    from ref('silver.counter_increases')
),

increases as (
    select date_trunc('minute', scraped_at) as minute, *
    from ref_since('silver.counter_increases', '1 minute')
    where date_trunc('minute', scraped_at) in (select minute from touched)
),

counts as (
    select
        minute,
        product,
        sum(increase) filter (where metric = 'dataplatform_http_requests_total') as requests,
        sum(increase) filter (
            where metric = 'dataplatform_http_requests_total' and status >= 500
        ) as server_errors,
        sum(increase) filter (
            where metric = 'dataplatform_http_requests_total' and status between 400 and 499
        ) as client_errors,
        sum(increase) filter (
            where metric = 'dataplatform_http_request_duration_seconds_count'
        ) as latency_count,
        sum(increase) filter (
            where metric = 'dataplatform_http_request_duration_seconds_sum'
        ) as latency_sum_seconds
    from increases
    group by minute, product
),

buckets as (
    select minute, product, list({'le': le, 'requests': round(requests)::bigint} order by le) as latency_buckets
    from (
        select minute, product, le, sum(increase) as requests
        from increases
        where metric = 'dataplatform_http_request_duration_seconds_bucket'
        group by minute, product, le
    )
    group by minute, product
)

select
    counts.minute,
    counts.product,
    round(coalesce(counts.requests, 0))::bigint as requests,
    round(coalesce(counts.server_errors, 0))::bigint as server_errors,
    round(coalesce(counts.client_errors, 0))::bigint as client_errors,
    round(coalesce(counts.latency_count, 0))::bigint as latency_count,
    coalesce(counts.latency_sum_seconds, 0) as latency_sum_seconds,
    coalesce(buckets.latency_buckets, []) as latency_buckets
from counts
left join buckets using (minute, product)
