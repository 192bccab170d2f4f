-- System metrics: Kafka topic -> deduplicating view -> raw table `system_metrics`.
-- Same exactly-once mechanism as 0002_ticket_sales.sql. Tags are parallel arrays
-- (tag_keys[i] = tag_values[i]): 18.16 has no Map type.

CREATE TABLE IF NOT EXISTS {database}.system_metrics_queue {on_cluster} (
  id String,
  version UInt16,
  timestamp_ms UInt64,
  received_at_ms UInt64,
  name String,
  value Float64,
  unit String,
  tag_keys Array(String),
  tag_values Array(String)
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.system_metric',
  kafka_group_name = '{database}_system_metrics',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};

CREATE TABLE IF NOT EXISTS {database}.system_metrics {on_cluster} (
  id UUID,
  version UInt16,
  event_time DateTime,
  timestamp_ms UInt64,
  received_at DateTime,
  ingested_at DateTime,
  name String,
  value Float64,
  unit String,
  tag_keys Array(String),
  tag_values Array(String),
  _topic String,
  _partition Int32,
  _offset Int64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (name, event_time, id);

CREATE TABLE IF NOT EXISTS {database}.system_metrics_ids {on_cluster} (
  id UUID,
  ingested_at DateTime
) ENGINE = MergeTree
PARTITION BY toDate(ingested_at)
ORDER BY (ingested_at, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.system_metrics_dedup_mv {on_cluster}
TO {database}.system_metrics AS
SELECT
  toUUID(id) AS id,
  version,
  toDateTime(intDiv(timestamp_ms, 1000)) AS event_time,
  timestamp_ms,
  toDateTime(intDiv(received_at_ms, 1000)) AS received_at,
  now() AS ingested_at,
  name,
  value,
  unit,
  tag_keys,
  tag_values,
  '{topic_prefix}events.system_metric' AS _topic,
  toInt32(-1) AS _partition,
  toInt64(-1) AS _offset
FROM {database}.system_metrics_queue
WHERE toUUID(id) NOT IN (
  SELECT id FROM {database}.system_metrics_ids WHERE ingested_at >= now() - INTERVAL 1 DAY
)
LIMIT 1 BY id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.system_metrics_ids_mv {on_cluster}
TO {database}.system_metrics_ids AS
SELECT id, ingested_at FROM {database}.{inserted:system_metrics_dedup_mv:system_metrics};
