-- User interactions: Kafka topic -> deduplicating view -> raw table `user_interactions`.
-- Same exactly-once mechanism as 0002_ticket_sales.sql (ids within a 24-hour ingest horizon,
-- one row per id per block); aggregates select FROM `{inserted:user_interactions_dedup_mv:user_interactions}`.

CREATE TABLE IF NOT EXISTS {database}.user_interactions_queue {on_cluster} (
  id String,
  version UInt16,
  timestamp_ms UInt64,
  received_at_ms UInt64,
  event_id String,
  user_id String,
  session_id String,
  action String,
  page String,
  referrer String
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.user_interaction',
  kafka_group_name = '{database}_user_interactions',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};

CREATE TABLE IF NOT EXISTS {database}.user_interactions {on_cluster} (
  id UUID,
  version UInt16,
  event_time DateTime,
  timestamp_ms UInt64,
  received_at DateTime,
  ingested_at DateTime,
  event_id String,
  user_id String,
  session_id String,
  action String,
  page String,
  referrer String,
  _topic String,
  _partition Int32,
  _offset Int64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (event_id, event_time, id);

CREATE TABLE IF NOT EXISTS {database}.user_interactions_ids {on_cluster} (
  id UUID,
  ingested_at DateTime
) ENGINE = MergeTree
PARTITION BY toDate(ingested_at)
ORDER BY (ingested_at, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.user_interactions_dedup_mv {on_cluster}
TO {database}.user_interactions AS
SELECT
  toUUID(id) AS id,
  version,
  toDateTime(intDiv(timestamp_ms, 1000)) AS event_time,
  timestamp_ms,
  toDateTime(intDiv(received_at_ms, 1000)) AS received_at,
  now() AS ingested_at,
  event_id,
  user_id,
  session_id,
  action,
  page,
  referrer,
  '{topic_prefix}events.user_interaction' AS _topic,
  toInt32(-1) AS _partition,
  toInt64(-1) AS _offset
FROM {database}.user_interactions_queue
WHERE toUUID(id) NOT IN (
  SELECT id FROM {database}.user_interactions_ids WHERE ingested_at >= now() - INTERVAL 1 DAY
)
LIMIT 1 BY id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.user_interactions_ids_mv {on_cluster}
TO {database}.user_interactions_ids AS
SELECT id, ingested_at FROM {database}.{inserted:user_interactions_dedup_mv:user_interactions};
