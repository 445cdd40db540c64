/* ---
name: gold.slo_status
materialized: merge
unique_key: [product, slo]
description: >-
  Every SLO of every product as of the latest evaluation step: compliance (good / total events)
  over the last hour, 24 hours and 30 days, the error budget left over 30 days
  (1 - (bad / total) / (1 - target)), and the burn rates and alerts of the latest step. SLOs with
  no event yet have null figures. A tick reads gold.slo_minutes from 30 days before the earliest
  minute it re-evaluated (only those days' partitions), which holds the latest step and its
  30-day window, and this table's own rows (one per SLO, to delete those no longer configured).
columns:
  product: {type: varchar, description: The product.}
  slo: {type: varchar, description: The SLO's name.}
  indicator: {type: varchar, description: "freshness_seconds, latency_ms, availability or error_rate."}
  threshold: {type: double, description: The SLO's threshold.}
  target: {type: double, description: The share of good events it promises.}
  description: {type: varchar, description: "What it promises, in words."}
  evaluated_at: {type: timestamptz, description: The latest evaluation step (UTC); windows end with it.}
  good_1h: {type: bigint, description: Good events over the last hour (60 steps).}
  total_1h: {type: bigint, description: Events over the last hour.}
  compliance_1h: {type: double, description: good_1h / total_1h.}
  good_24h: {type: bigint, description: Good events over the last 24 hours.}
  total_24h: {type: bigint, description: Events over the last 24 hours.}
  compliance_24h: {type: double, description: good_24h / total_24h.}
  good_30d: {type: bigint, description: Good events over the last 30 days.}
  total_30d: {type: bigint, description: Events over the last 30 days.}
  compliance_30d: {type: double, description: good_30d / total_30d.}
  error_budget_left: {type: double, description: "1 - (bad / total) / (1 - target) over 30 days: 1 untouched, 0 spent, below 0 overspent; null without events or with a target of 1."}
  latency_bucket_ms: {type: double, description: "latency_ms: the bucket bound the threshold is judged at."}
  fast_long_burn: {type: double, description: "Burn rate over the fast alert's long window, at evaluated_at."}
  fast_short_burn: {type: double, description: Burn rate over the fast alert's short window.}
  slow_long_burn: {type: double, description: Burn rate over the slow alert's long window.}
  slow_short_burn: {type: double, description: Burn rate over the slow alert's short window.}
  fast_firing: {type: boolean, description: Both fast windows burn over the fast rate.}
  slow_firing: {type: boolean, description: Both slow windows burn over the slow rate.}
--- */
with slos as (
    select
        watched.product, watched.name, watched.indicator, watched.threshold, watched.target,
        watched.description
    from (
        select unnest(from_json(
            var('watched_slos'),
            '[{"product": "VARCHAR", "name": "VARCHAR", "indicator": "VARCHAR",
               "threshold": "DOUBLE", "target": "DOUBLE", "description": "VARCHAR"}]'
        )) as watched
    )
),

-- Every minute from 30 days before the earliest new one: the latest step is among them (it is at
-- or after every new one), and so is every step of its 30-day window.
since as (
    select * from ref_since('gold.slo_minutes', '30 days')
),

clock as (
    select max(minute) as evaluated_at from since
),

recent as (
    select since.*
    from since, clock
    where since.minute > clock.evaluated_at - interval 30 days
),

windows as (
    select
        product,
        slo,
        sum(good) filter (where minute > evaluated_at - interval 1 hour) as good_1h,
        sum(total) filter (where minute > evaluated_at - interval 1 hour) as total_1h,
        sum(good) filter (where minute > evaluated_at - interval 24 hours) as good_24h,
        sum(total) filter (where minute > evaluated_at - interval 24 hours) as total_24h,
        sum(good) as good_30d,
        sum(total) as total_30d,
        max(latency_bucket_ms) as latency_bucket_ms
    from recent, clock
    group by product, slo
),

latest as (
    select recent.*
    from recent, clock
    where recent.minute = clock.evaluated_at
),

-- The configured SLOs, and those this table holds that are no longer configured (a full
-- rebuild leaves them out): their rows are deleted.
keys as (
    select product, name as slo, false as _deleted from slos
    union all
    select held.product, held.slo, true as _deleted
    from this() as held
    anti join slos on slos.product = held.product and slos.name = held.slo
)

select
    keys.product,
    keys.slo,
    slos.indicator,
    slos.threshold,
    slos.target,
    slos.description,
    clock.evaluated_at,
    coalesce(windows.good_1h, 0) as good_1h,
    coalesce(windows.total_1h, 0) as total_1h,
    windows.good_1h / nullif(windows.total_1h, 0) as compliance_1h,
    coalesce(windows.good_24h, 0) as good_24h,
    coalesce(windows.total_24h, 0) as total_24h,
    windows.good_24h / nullif(windows.total_24h, 0) as compliance_24h,
    coalesce(windows.good_30d, 0) as good_30d,
    coalesce(windows.total_30d, 0) as total_30d,
    windows.good_30d / nullif(windows.total_30d, 0) as compliance_30d,
    case when windows.total_30d > 0 and slos.target < 1
        then 1 - (windows.total_30d - windows.good_30d) / windows.total_30d / (1 - slos.target)
    end as error_budget_left,
    windows.latency_bucket_ms,
    latest.fast_long_burn,
    latest.fast_short_burn,
    latest.slow_long_burn,
    latest.slow_short_burn,
    coalesce(latest.fast_firing, false) as fast_firing,
    coalesce(latest.slow_firing, false) as slow_firing,
    keys._deleted
from keys
left join slos on slos.product = keys.product and slos.name = keys.slo
cross join clock
left join windows on windows.product = keys.product and windows.slo = keys.slo
left join latest on latest.product = keys.product and latest.slo = keys.slo
