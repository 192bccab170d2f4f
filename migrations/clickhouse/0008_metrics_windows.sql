-- Per-minute system health per metric name, from deduplicated metrics.
-- Percentiles are exact (quantilesExact: an actual sample, no interpolation), so every
-- ClickHouse version gives the same answer.
--
-- Analysts read the view `metrics_per_minute`:
--   window_start DateTime  start of the UTC minute
--   name         String    metric name
--   samples      UInt64    number of samples
--   sum, min, max, avg     Float64
--   p50, p95, p99          Float64 exact percentiles

CREATE TABLE IF NOT EXISTS {database}.metrics_per_minute_agg {on_cluster} (
  window_start DateTime,
  name String,
  samples_state AggregateFunction(count),
  sum_state AggregateFunction(sum, Float64),
  min_state AggregateFunction(min, Float64),
  max_state AggregateFunction(max, Float64),
  quantiles_state AggregateFunction(quantilesExact(0.5, 0.95, 0.99), Float64)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (name, window_start);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.metrics_per_minute_mv {on_cluster}
TO {database}.metrics_per_minute_agg AS
SELECT
  toStartOfMinute(event_time) AS window_start,
  name,
  countState() AS samples_state,
  sumState(value) AS sum_state,
  minState(value) AS min_state,
  maxState(value) AS max_state,
  quantilesExactState(0.5, 0.95, 0.99)(value) AS quantiles_state
FROM {database}.{inserted:system_metrics_dedup_mv:system_metrics}
GROUP BY window_start, name;

CREATE VIEW IF NOT EXISTS {database}.metrics_per_minute {on_cluster} AS
SELECT
  window_start,
  name,
  samples,
  total AS sum,
  minimum AS min,
  maximum AS max,
  total / samples AS avg,
  q[1] AS p50,
  q[2] AS p95,
  q[3] AS p99
FROM (
  SELECT
    window_start,
    name,
    countMerge(samples_state) AS samples,
    sumMerge(sum_state) AS total,
    minMerge(min_state) AS minimum,
    maxMerge(max_state) AS maximum,
    quantilesExactMerge(0.5, 0.95, 0.99)(quantiles_state) AS q
  FROM {database}.metrics_per_minute_agg
  GROUP BY window_start, name
);
