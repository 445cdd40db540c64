/* ---
name: gold.bus_lag
materialized: merge
unique_key: [minute, product]
time_column: minute
description: >-
  Per product and minute (UTC) the platform measured its bus in: as of the minute's last
  measurement, the events waiting between the collector and bronze over all the product's streams,
  and how long the oldest of them had waited.
columns:
  minute: {type: timestamptz, description: The minute (UTC).}
  product: {type: varchar, description: The product.}
  bus: {type: varchar, description: "embedded, redis or kafka."}
  measured_at: {type: timestamptz, description: The minute's last measurement.}
  streams: {type: bigint, description: The product's streams measured then.}
  waiting_events: {type: bigint, description: "Events waiting, summed over the streams (null: one stream's were unknown)."}
  oldest_waiting_seconds: {type: double, description: "Age of the oldest event waiting on any of the streams (0: nothing waited; null: one stream's was unknown)."}
--- */
-- The minutes holding new measurements are recomputed whole.
with first_minute as (
    select min(date_trunc('minute', observed_at)) as minute
    from ref('silver.bus_lag')
),

-- One measurement round stamps every stream with the same time.
rounds as (
    select
        observed_at,
        product,
        any_value(bus) as bus,
        count(*) as streams,
        case when bool_and(waiting_events is not null) then sum(waiting_events) end
            as waiting_events,
        case when bool_and(oldest_waiting_seconds is not null) then max(oldest_waiting_seconds) end
            as oldest_waiting_seconds
    from ref_since('silver.bus_lag', '1 minute')
    where observed_at >= (select minute from first_minute)
    group by observed_at, product
)

select
    date_trunc('minute', observed_at) as minute,
    product,
    bus,
    observed_at as measured_at,
    streams,
    waiting_events,
    oldest_waiting_seconds
from rounds
qualify row_number() over (
    partition by product, date_trunc('minute', observed_at) order by observed_at desc
) = 1
