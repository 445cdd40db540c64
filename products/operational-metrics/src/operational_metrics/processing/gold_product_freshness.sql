/* ---
name: gold.product_freshness
materialized: merge
unique_key: [minute, product]
time_column: minute
description: >-
  Per product and minute (UTC) the platform measured in: its newest bronze and gold commits as of
  the minute's last measurement, the age of its newest gold commit then, and how far that trails
  its newest bronze commit (a lower bound of the bronze-to-gold lag). A row for every watched
  product, every minute: the steps the SLOs are evaluated at.
columns:
  minute: {type: timestamptz, description: The minute (UTC).}
  product: {type: varchar, description: The product.}
  measured_at: {type: timestamptz, description: The platform's last measurement in the minute (its last scrape).}
  newest_bronze_at: {type: timestamptz, description: "The product's newest bronze commit by then (null: none known)."}
  newest_gold_at: {type: timestamptz, description: "The product's newest gold commit by then (null: none known)."}
  gold_age_seconds: {type: double, description: "From newest_gold_at to measured_at (null: no gold commit known)."}
  bronze_to_gold_lag_seconds: {type: double, description: "From newest_gold_at to newest_bronze_at when bronze is newer, else 0; null without bronze or gold."}
--- */
with products as (
    select watched.product
    from (select unnest(from_json(var('watched_products'), '[{"product": "VARCHAR"}]')) as watched)
),

-- The platform measures (scrapes) every few seconds: the last measurement of each minute of the
-- batch is when that minute's freshness is judged.
moments as (
    select date_trunc('minute', scraped_at) as minute, max(scraped_at) as measured_at
    from ref('silver.metric_samples')
    group by date_trunc('minute', scraped_at)
),

first_minute as (
    select min(minute) as minute from moments
),

-- What was known before the batch: each product's newest commits at its last minute counted.
before as (
    select product, newest_bronze_at, newest_gold_at
    from this_since('1 day')
    where minute < (select minute from first_minute)
    qualify row_number() over (partition by product order by minute desc) = 1
),

commits as (
    select product, layer, last_modified
    from ref_since('silver.table_observations', '1 hour')
    where layer in ('bronze', 'gold')
),

bronze_commits as (
    select product, last_modified from commits where layer = 'bronze'
),

gold_commits as (
    select product, last_modified from commits where layer = 'gold'
),

-- An as-of join finds each product's latest commit at or before the measurement.
newest as (
    select
        moments.minute,
        moments.measured_at,
        products.product,
        greatest(before.newest_bronze_at, bronze_commits.last_modified) as newest_bronze_at,
        greatest(before.newest_gold_at, gold_commits.last_modified) as newest_gold_at
    from moments
    cross join products
    left join before on before.product = products.product
    asof left join bronze_commits
        on bronze_commits.product = products.product
        and bronze_commits.last_modified <= moments.measured_at
    asof left join gold_commits
        on gold_commits.product = products.product
        and gold_commits.last_modified <= moments.measured_at
)

select
    minute,
    product,
    measured_at,
    newest_bronze_at,
    newest_gold_at,
    case when newest_gold_at is not null
        then greatest(epoch(measured_at - newest_gold_at), 0)
    end as gold_age_seconds,
    case when newest_bronze_at is not null and newest_gold_at is not null
        then greatest(epoch(newest_bronze_at - newest_gold_at), 0)
    end as bronze_to_gold_lag_seconds
from newest
