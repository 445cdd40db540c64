/* ---
name: gold.lineage_current
materialized: replace
description: >-
  The column lineage in force: the platform records a model's edges anew, all with one
  recorded_at, when its SQL or its inputs' columns change, so a model's current edges are those
  of its latest recorded_at. A source column `*` is a row count (count(*)). Rebuilt whole, and
  only on a tick whose platform.gold.lineage gained edges: that table grows with model changes
  (one row per edge each time a model's lineage is recorded), not with data.
columns:
  model: {type: varchar, description: The model that writes the target.}
  source_table: {type: varchar, description: The table read.}
  source_column: {type: varchar, description: "The column read; * for count(*)."}
  target_table: {type: varchar, description: The table written.}
  target_column: {type: varchar, description: The column written.}
  recorded_at: {type: timestamptz, description: When the runner recorded these edges.}
checks:
  - {check: not_null, column: source_table}
--- */
with lineage as (
    select * from source('platform', 'gold.lineage')
),

latest as (
    select model, max(recorded_at) as recorded_at from lineage group by model
)

select distinct l.model, l.source_table, l.source_column, l.target_table, l.target_column, l.recorded_at
from lineage as l
join latest as m on m.model = l.model and m.recorded_at = l.recorded_at
