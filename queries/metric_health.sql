-- name: metric_health
-- purpose: System health per metric and minute in a time range: sample count, average, tail
--          percentiles and maximum, for spotting a slow API or a growing checkout queue.
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- columns: window_start, name, samples, avg, p50, p95, p99, max
-- scope: platform
SELECT window_start, name, samples, round(avg, 3) AS avg, p50, p95, p99, max
FROM {database}.metrics_per_minute
WHERE window_start >= {{from_time}} AND window_start < {{to_time}}
ORDER BY name, window_start
