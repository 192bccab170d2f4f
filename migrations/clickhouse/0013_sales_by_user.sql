-- Each user's recent purchases, sorted by user: what the velocity and unusual-location rules
-- look back on (src/fraud/rules/*.sql).
--
-- Until now the rules grouped every sale of the look-back (2 h / 24 h of `ticket_sales`, sorted
-- by show) on every run: after a 2M-sale load, 0.8-1.5 s per run with no traffic at all. Sorted
-- by user, a run reads only the history of the users who bought since the last run (an index
-- range each), so its cost follows new sales. The dedup horizon job drops partitions older
-- than two days (a rule's look-back longer than a day needs that raised in
-- src/dedup/horizon-rotation.ts).
--
-- A row may appear twice (the backfill below when this file is run again, or a re-read block on
-- current ClickHouse): ReplacingMergeTree folds them on merge and the rules read distinct rows.

CREATE TABLE IF NOT EXISTS {database}.sales_by_user {on_cluster} (
  user_id String,
  event_time DateTime,
  timestamp_ms UInt64,
  id UUID,
  country FixedString(2)
) ENGINE = ReplacingMergeTree
PARTITION BY toDate(event_time)
ORDER BY (user_id, event_time, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sales_by_user_mv {on_cluster}
TO {database}.sales_by_user AS
SELECT user_id, event_time, timestamp_ms, id, country
FROM {database}.{inserted:ticket_sales_dedup_mv:ticket_sales};

INSERT INTO {database}.sales_by_user
SELECT user_id, event_time, timestamp_ms, id, country
FROM {database}.ticket_sales
WHERE event_time >= now() - INTERVAL 1 DAY;
