/* ---
name: gold.slo_minutes
materialized: merge
unique_key: [minute, product, slo]
time_column: minute
partition_by: [day]
description: >-
  Every SLO of every product, evaluated each minute (UTC) the platform measured in: the minute's
  good and total events, and burn rates over the fast and slow alerts' windows ending with it.
  freshness_seconds: one event a minute, good when the newest gold commit is at most threshold
  seconds old; latency_ms: the API requests, good when answered within the largest latency bucket
  at or below the threshold; availability: the API requests, good when not 5xx (the threshold is
  unused); error_rate: one event per minute with requests, good when at most threshold (a
  fraction, 0.01 = 1%) of them were 5xx. Burn rate = (bad / total) / (1 - target) over a window
  (0 when the window holds no bad event; null when a target of 1, which leaves no budget, meets
  a bad one).
columns:
  minute: {type: timestamptz, description: The evaluation step (UTC).}
  product: {type: varchar, description: The product.}
  slo: {type: varchar, description: The SLO's name in the product's config.}
  indicator: {type: varchar, description: "freshness_seconds, latency_ms, availability or error_rate."}
  threshold: {type: double, description: The SLO's threshold.}
  target: {type: double, description: The share of good events it promises.}
  good: {type: bigint, description: Good events in the minute.}
  total: {type: bigint, description: Events in the minute.}
  latency_bucket_ms: {type: double, description: "latency_ms: the bucket bound the threshold was judged at (the largest at or below it)."}
  fast_long_burn: {type: double, description: Burn rate over the fast alert's long window.}
  fast_short_burn: {type: double, description: Burn rate over the fast alert's short window.}
  slow_long_burn: {type: double, description: Burn rate over the slow alert's long window.}
  slow_short_burn: {type: double, description: Burn rate over the slow alert's short window.}
  fast_burn_rate: {type: double, description: The fast alert's rate (setting fast_burn_rate).}
  slow_burn_rate: {type: double, description: The slow alert's rate (setting slow_burn_rate).}
  fast_firing: {type: boolean, description: Both fast windows burn over the fast rate.}
  fast_resolved: {type: boolean, description: The fast short window burns below the fast rate.}
  slow_firing: {type: boolean, description: Both slow windows burn over the slow rate.}
  slow_resolved: {type: boolean, description: The slow short window burns below the slow rate.}
--- */
with slos as (
    select watched.product, watched.name, watched.indicator, watched.threshold, watched.target
    from (
        select unnest(from_json(
            var('watched_slos'),
            '[{"product": "VARCHAR", "name": "VARCHAR", "indicator": "VARCHAR",
               "threshold": "DOUBLE", "target": "DOUBLE"}]'
        )) as watched
    )
),

products as (
    select watched.product, watched.has_gold_tables
    from (
        select unnest(from_json(
            var('watched_products'), '[{"product": "VARCHAR", "has_gold_tables": "BOOLEAN"}]'
        )) as watched
    )
),

-- Minutes with new measurements or traffic are evaluated again, and so is every minute after
-- them, since their windows hold them; the windows reach back burn_reach (the longest window).
first_minute as (
    select min(minute) as minute from (
        select minute from ref('gold.product_freshness')
        union all
        select minute from ref('gold.api_traffic')
    )
),

steps as (
    select * from ref_since('gold.product_freshness', var('burn_reach'))
),

traffic as (
    select * from ref_since('gold.api_traffic', var('burn_reach'))
),

events as (
    select
        steps.minute,
        slos.product,
        slos.name as slo,
        slos.indicator,
        slos.threshold,
        slos.target,
        case slos.indicator
            when 'freshness_seconds' then
                (products.has_gold_tables and coalesce(steps.gold_age_seconds <= slos.threshold, false))::bigint
            when 'latency_ms' then coalesce(list_max(list_transform(
                list_filter(traffic.latency_buckets, lambda b: b.le <= slos.threshold / 1000),
                lambda b: b.requests
            )), 0)
            when 'availability' then coalesce(traffic.requests - traffic.server_errors, 0)
            when 'error_rate' then
                (coalesce(traffic.requests, 0) > 0
                 and traffic.server_errors <= slos.threshold * traffic.requests)::bigint
        end as good,
        case slos.indicator
            when 'freshness_seconds' then products.has_gold_tables::bigint
            when 'latency_ms' then coalesce(traffic.latency_count, 0)
            when 'availability' then coalesce(traffic.requests, 0)
            when 'error_rate' then (coalesce(traffic.requests, 0) > 0)::bigint
        end as total,
        case when slos.indicator = 'latency_ms' then 1000 * list_max(list_transform(
            list_filter(traffic.latency_buckets, lambda b: b.le <= slos.threshold / 1000),
            lambda b: b.le
        )) end as latency_bucket_ms
    from steps
    join slos on slos.product = steps.product
    join products on products.product = steps.product
    left join traffic on traffic.minute = steps.minute and traffic.product = steps.product
),

windows as (
    select
        *,
        sum(good) over fast_long as fast_long_good,
        sum(total) over fast_long as fast_long_total,
        sum(good) over fast_short as fast_short_good,
        sum(total) over fast_short as fast_short_total,
        sum(good) over slow_long as slow_long_good,
        sum(total) over slow_long as slow_long_total,
        sum(good) over slow_short as slow_short_good,
        sum(total) over slow_short as slow_short_total
    from events
    window
        fast_long as (partition by product, slo order by minute range between
            to_minutes(var('fast_burn_long_window_minutes') - 1) preceding and current row),
        fast_short as (partition by product, slo order by minute range between
            to_minutes(var('fast_burn_short_window_minutes') - 1) preceding and current row),
        slow_long as (partition by product, slo order by minute range between
            to_minutes(var('slow_burn_long_window_minutes') - 1) preceding and current row),
        slow_short as (partition by product, slo order by minute range between
            to_minutes(var('slow_burn_short_window_minutes') - 1) preceding and current row)
),

burns as (
    select
        minute, product, slo, indicator, threshold, target, good, total, latency_bucket_ms,
        case when fast_long_good = fast_long_total then 0.0 when target < 1
            then (fast_long_total - fast_long_good) / fast_long_total / (1 - target) end as fast_long_burn,
        case when fast_short_good = fast_short_total then 0.0 when target < 1
            then (fast_short_total - fast_short_good) / fast_short_total / (1 - target) end as fast_short_burn,
        case when slow_long_good = slow_long_total then 0.0 when target < 1
            then (slow_long_total - slow_long_good) / slow_long_total / (1 - target) end as slow_long_burn,
        case when slow_short_good = slow_short_total then 0.0 when target < 1
            then (slow_short_total - slow_short_good) / slow_short_total / (1 - target) end as slow_short_burn,
        var('fast_burn_rate') as fast_burn_rate,
        var('slow_burn_rate') as slow_burn_rate
    from windows
)

select
    *,
    coalesce(fast_long_burn > fast_burn_rate and fast_short_burn > fast_burn_rate, false)
        as fast_firing,
    coalesce(fast_short_burn < fast_burn_rate, false) as fast_resolved,
    coalesce(slow_long_burn > slow_burn_rate and slow_short_burn > slow_burn_rate, false)
        as slow_firing,
    coalesce(slow_short_burn < slow_burn_rate, false) as slow_resolved
from burns
where minute >= (select minute from first_minute)
