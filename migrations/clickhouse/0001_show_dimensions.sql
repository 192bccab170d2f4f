-- Show dimensions mirrored from Postgres (shows, show_capacities) by src/bridge.
-- ReplacingMergeTree keeps the latest version of each row (by updated_at); readers that need
-- exactly one row per key use the views below, which pick the latest with argMax.

CREATE TABLE IF NOT EXISTS {database}.dim_shows {on_cluster} (
  show_id String,
  organizer_id String,
  name String,
  country FixedString(2),
  starts_at DateTime,
  updated_at DateTime
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY show_id;

CREATE TABLE IF NOT EXISTS {database}.dim_show_capacities {on_cluster} (
  show_id String,
  category String,
  capacity UInt32,
  updated_at DateTime
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (show_id, category);
