-- The quarantine: every record the API rejected, with its raw text, the reasons, when it
-- arrived and which API key sent it, so an analyst can ask what was rejected and why, fix it
-- and replay it. A log, not deduplicated: a rejected record retried twice was rejected twice.

CREATE TABLE IF NOT EXISTS {database}.rejected_events_queue {on_cluster} (
  received_at_ms UInt64,
  source String,
  record_index UInt32,
  id String,
  event_type String,
  raw String,
  errors Array(String)
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.rejected',
  kafka_group_name = '{database}_rejected_events',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};

CREATE TABLE IF NOT EXISTS {database}.rejected_events {on_cluster} (
  received_at DateTime,
  received_at_ms UInt64,
  ingested_at DateTime,
  source String,
  record_index UInt32,
  id String,
  event_type String,
  raw String,
  errors Array(String),
  _topic String,
  _partition Int32,
  _offset Int64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (received_at, source, record_index);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.rejected_events_mv {on_cluster}
TO {database}.rejected_events AS
SELECT
  toDateTime(intDiv(received_at_ms, 1000)) AS received_at,
  received_at_ms,
  now() AS ingested_at,
  source,
  record_index,
  id,
  event_type,
  raw,
  errors,
  '{topic_prefix}events.rejected' AS _topic,
  toInt32(-1) AS _partition,
  toInt64(-1) AS _offset
FROM {database}.rejected_events_queue;
