/* ---
name: silver.metric_samples
materialized: append
time_column: scraped_at
description: >-
  The gateway's request counters and latency histograms as the platform scrapes them
  (platform.gold.service_metrics), each with the product its route belongs to: the product whose
  API prefix is the route's first path segment (/mobile/...), or `platform` for every other
  route (login, catalog, admin, collector, probes, unmatched paths).
columns:
  scraped_at: {type: timestamptz, description: When the platform read the service's metrics.}
  service: {type: varchar, description: The scraped service (the gateway).}
  metric: {type: varchar, description: "The sample's name: dataplatform_http_requests_total, or the latency histogram's _bucket, _count or _sum."}
  value: {type: double, description: The value; counters count up from 0 since the service started.}
  product: {type: varchar, description: "The product of the route, or platform."}
  route: {type: varchar, description: "The route template, e.g. /mobile/users/{user_id}/summary; with service, metric, method, status and le it names a series."}
  method: {type: varchar, description: The HTTP method.}
  status: {type: integer, description: The HTTP status (request counters only).}
  le: {type: double, description: "A latency bucket's upper bound in seconds (finite buckets only: +Inf equals _count)."}
--- */
with prefixes as (
    select watched.product, watched.prefix
    from (
        select unnest(
            from_json(var('watched_products'), '[{"product": "VARCHAR", "prefix": "VARCHAR"}]')
        ) as watched
    )
),

samples as (
    select *, json_extract_string(labels, '$.route') as route
    from source('platform', 'gold.service_metrics')
    where metric in (
        'dataplatform_http_requests_total',
        'dataplatform_http_request_duration_seconds_bucket',
        'dataplatform_http_request_duration_seconds_count',
        'dataplatform_http_request_duration_seconds_sum'
    )
    and coalesce(json_extract_string(labels, '$.le'), '') != '+Inf'
)

select
    samples.scraped_at,
    samples.service,
    samples.metric,
    samples.value,
    coalesce(prefixes.product, 'platform') as product,
    samples.route,
    json_extract_string(samples.labels, '$.method') as method,
    try_cast(json_extract_string(samples.labels, '$.status') as integer) as status,
    try_cast(json_extract_string(samples.labels, '$.le') as double) as le
from samples
left join prefixes on prefixes.prefix = '/' || split_part(samples.route, '/', 2)
