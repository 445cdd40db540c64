/* ---
name: silver.table_observations
materialized: append
time_column: observed_at
description: >-
  Each table's statistics whenever its version changed, as the platform observed them
  (platform.gold.table_stats): the history that volumes and freshness are computed from.
columns:
  observed_at: {type: timestamptz, description: When the platform saw the new version.}
  table_name: {type: varchar, description: "The table, <product>.<layer>.<table>."}
  product: {type: varchar, description: "The product owning it, or platform."}
  layer: {type: varchar, description: "bronze, silver, gold or quarantine."}
  version: {type: bigint, description: The Delta version seen.}
  row_count: {type: bigint, description: Rows at that version.}
  size_bytes: {type: bigint, description: Bytes of its data files at that version.}
  last_modified: {type: timestamptz, description: When that version was committed.}
--- */
select observed_at, table_name, product, layer, version, row_count, size_bytes, last_modified
from source('platform', 'gold.table_stats')
