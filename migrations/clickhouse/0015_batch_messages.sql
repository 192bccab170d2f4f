-- Batch messages: one Kafka message carries many events (see README "Topics").
--
-- Why. With one message per event, ClickHouse 18.16's single Kafka consumer per table counted
-- about 4,000-5,400 sales/s while the API acknowledged 24,500/s, with ClickHouse at half a core:
-- the engine pays per message (a poll, a one-row block, a time-limit check), not per byte.
--
-- Three shapes were measured on 18.16 (same box, 2 cores):
--   * Many JSONEachRow rows per message (rows one per line). Fast, but it LOSES ROWS: a pass
--     ends at stream_flush_interval_ms between two blocks, a block ends every
--     kafka_max_block_size rows, so a pass can end in the middle of a message; the engine has
--     stored that message's offset when it polled it, commits it, and the next pass starts at
--     the next message. 100,000 rows in 200 messages of 500: 99,164 counted, for good.
--   * kafka_num_consumers > 1: blocks of several consumers unioned into one insert; still one
--     message per event, and at most one consumer per partition, so not the lever here.
--   * One row of arrays per message, exploded by ARRAY JOIN (this file). The engine reads one
--     row per message, so a block (kafka_max_block_size = 1) is exactly one message and a pass
--     can only end between messages: nothing is cut. 1,020,000 events in 6,000 messages were
--     all counted 16 s after the first send (the producer took 12 s), each id once.
--
-- Shape. Each message of events.ticket_sale, events.user_interaction and events.system_metric
-- is one JSON object whose fields are the columns of <stream>_queue below, each an array with
-- one element per event, all arrays of one length, in the order the API acknowledged the events
-- (a heartbeat is {"heartbeat":1}, with no arrays: ARRAY JOIN gives it no rows). The API packs
-- one request's events into one message per partition (src/events/topic-messages.ts), each
-- event on the partition its key hashes to, so one buyer's events stay in order on one
-- partition as before. events.rejected keeps one quarantine row per message (0011).
--
-- Views. <stream>_rows_mv explodes a message into rows with ARRAY JOIN into <stream>_rows
-- (a Null table: nothing is stored), and <stream>_dedup_mv reads those rows exactly as it read
-- the old one-event queue (same dedup by Set, same LIMIT 1 BY id within an insert). Two views,
-- because 18.16's aliases are global: a single view cannot ARRAY JOIN `id` and also output
-- `toUUID(id) AS id` (Code 179 "Duplicate alias in ARRAY JOIN", and Code 15 "Column 'amount'
-- already exists" with arrayMap), and a view over a subquery is not fired by the Kafka engine
-- (Code 393, There is no query).
--
-- Order. A Kafka table consumes as soon as its views and their targets exist, and rows_mv alone
-- would send messages into the Null table and commit them. So each stream's views are first
-- built over a Null stand-in named like the queue, then the stand-in is dropped and the Kafka
-- table created under the same name (views are bound to their source by name): it starts
-- consuming with the whole chain in place. The consumer groups keep their names, so the new
-- tables resume from the committed offsets.
--
-- Upgrading a running deployment: a one-event message is not a row of arrays, and the new
-- queue cannot read it (it stalls, as a poison record does). Stop every API process, wait
-- until ticketpulse_kafka_rows_behind is 0 for the three event tables, apply this migration,
-- then start the new version. (A message left behind can be quarantined with
-- `npm run kafka -- skip-poison --table <table>` and its events posted again.)

-- ticket_sales

DROP TABLE IF EXISTS {database}.ticket_sales_dedup_mv {on_cluster};

DROP TABLE IF EXISTS {database}.ticket_sales_queue {on_cluster};

CREATE TABLE IF NOT EXISTS {database}.ticket_sales_queue {on_cluster} (
  id Array(String),
  version Array(UInt16),
  timestamp_ms Array(UInt64),
  received_at_ms Array(UInt64),
  event_id Array(String),
  order_id Array(String),
  user_id Array(String),
  category Array(String),
  quantity Array(UInt16),
  amount Array(String),
  currency Array(String),
  channel Array(String),
  country Array(String),
  city Array(String),
  heartbeat UInt8
) ENGINE = Null;

CREATE TABLE IF NOT EXISTS {database}.ticket_sales_rows {on_cluster} (
  id String,
  version UInt16,
  timestamp_ms UInt64,
  received_at_ms UInt64,
  event_id String,
  order_id String,
  user_id String,
  category String,
  quantity UInt16,
  amount String,
  currency String,
  channel String,
  country String,
  city String,
  heartbeat UInt8
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_sales_rows_mv {on_cluster}
TO {database}.ticket_sales_rows AS
SELECT id, version, timestamp_ms, received_at_ms, event_id, order_id, user_id, category, quantity, amount, currency, channel, country, city, heartbeat
FROM {database}.ticket_sales_queue
ARRAY JOIN id, version, timestamp_ms, received_at_ms, event_id, order_id, user_id, category, quantity, amount, currency, channel, country, city;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_sales_dedup_mv {on_cluster}
TO {database}.ticket_sales AS
SELECT
  toUUID(id) AS id,
  version,
  toDateTime(intDiv(timestamp_ms, 1000)) AS event_time,
  timestamp_ms,
  toDateTime(intDiv(received_at_ms, 1000)) AS received_at,
  now() AS ingested_at,
  event_id,
  order_id,
  user_id,
  category,
  quantity,
  toDecimal64(amount, 4) AS amount,
  toFixedString(currency, 3) AS currency,
  channel,
  toFixedString(country, 2) AS country,
  city,
  '{topic_prefix}events.ticket_sale' AS _topic,
  toInt32(-1) AS _partition,
  toInt64(-1) AS _offset
FROM {database}.{inserted:ticket_sales_rows_mv:ticket_sales_rows}
WHERE heartbeat = 0
  AND toUUID(id) NOT IN {database}.ticket_sales_seen_0
  AND toUUID(id) NOT IN {database}.ticket_sales_seen_1
  AND toUUID(id) NOT IN {database}.ticket_sales_seen_2
  AND toUUID(id) NOT IN {database}.ticket_sales_seen_3
LIMIT 1 BY id;

DROP TABLE IF EXISTS {database}.ticket_sales_queue {on_cluster};

CREATE TABLE IF NOT EXISTS {database}.ticket_sales_queue {on_cluster} (
  id Array(String),
  version Array(UInt16),
  timestamp_ms Array(UInt64),
  received_at_ms Array(UInt64),
  event_id Array(String),
  order_id Array(String),
  user_id Array(String),
  category Array(String),
  quantity Array(UInt16),
  amount Array(String),
  currency Array(String),
  channel Array(String),
  country Array(String),
  city Array(String),
  heartbeat UInt8
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.ticket_sale',
  kafka_group_name = '{database}_ticket_sales',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};

-- user_interactions

DROP TABLE IF EXISTS {database}.user_interactions_dedup_mv {on_cluster};

DROP TABLE IF EXISTS {database}.user_interactions_queue {on_cluster};

CREATE TABLE IF NOT EXISTS {database}.user_interactions_queue {on_cluster} (
  id Array(String),
  version Array(UInt16),
  timestamp_ms Array(UInt64),
  received_at_ms Array(UInt64),
  event_id Array(String),
  user_id Array(String),
  session_id Array(String),
  action Array(String),
  page Array(String),
  referrer Array(String),
  heartbeat UInt8
) ENGINE = Null;

CREATE TABLE IF NOT EXISTS {database}.user_interactions_rows {on_cluster} (
  id String,
  version UInt16,
  timestamp_ms UInt64,
  received_at_ms UInt64,
  event_id String,
  user_id String,
  session_id String,
  action String,
  page String,
  referrer String,
  heartbeat UInt8
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.user_interactions_rows_mv {on_cluster}
TO {database}.user_interactions_rows AS
SELECT id, version, timestamp_ms, received_at_ms, event_id, user_id, session_id, action, page, referrer, heartbeat
FROM {database}.user_interactions_queue
ARRAY JOIN id, version, timestamp_ms, received_at_ms, event_id, user_id, session_id, action, page, referrer;

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
FROM {database}.{inserted:user_interactions_rows_mv:user_interactions_rows}
WHERE heartbeat = 0
  AND toUUID(id) NOT IN {database}.user_interactions_seen_0
  AND toUUID(id) NOT IN {database}.user_interactions_seen_1
  AND toUUID(id) NOT IN {database}.user_interactions_seen_2
  AND toUUID(id) NOT IN {database}.user_interactions_seen_3
LIMIT 1 BY id;

DROP TABLE IF EXISTS {database}.user_interactions_queue {on_cluster};

CREATE TABLE IF NOT EXISTS {database}.user_interactions_queue {on_cluster} (
  id Array(String),
  version Array(UInt16),
  timestamp_ms Array(UInt64),
  received_at_ms Array(UInt64),
  event_id Array(String),
  user_id Array(String),
  session_id Array(String),
  action Array(String),
  page Array(String),
  referrer Array(String),
  heartbeat UInt8
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.user_interaction',
  kafka_group_name = '{database}_user_interactions',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};

-- system_metrics

DROP TABLE IF EXISTS {database}.system_metrics_dedup_mv {on_cluster};

DROP TABLE IF EXISTS {database}.system_metrics_queue {on_cluster};

CREATE TABLE IF NOT EXISTS {database}.system_metrics_queue {on_cluster} (
  id Array(String),
  version Array(UInt16),
  timestamp_ms Array(UInt64),
  received_at_ms Array(UInt64),
  name Array(String),
  value Array(Float64),
  unit Array(String),
  tag_keys Array(Array(String)),
  tag_values Array(Array(String)),
  heartbeat UInt8
) ENGINE = Null;

CREATE TABLE IF NOT EXISTS {database}.system_metrics_rows {on_cluster} (
  id String,
  version UInt16,
  timestamp_ms UInt64,
  received_at_ms UInt64,
  name String,
  value Float64,
  unit String,
  tag_keys Array(String),
  tag_values Array(String),
  heartbeat UInt8
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.system_metrics_rows_mv {on_cluster}
TO {database}.system_metrics_rows AS
SELECT id, version, timestamp_ms, received_at_ms, name, value, unit, tag_keys, tag_values, heartbeat
FROM {database}.system_metrics_queue
ARRAY JOIN id, version, timestamp_ms, received_at_ms, name, value, unit, tag_keys, tag_values;

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
FROM {database}.{inserted:system_metrics_rows_mv:system_metrics_rows}
WHERE heartbeat = 0
  AND toUUID(id) NOT IN {database}.system_metrics_seen_0
  AND toUUID(id) NOT IN {database}.system_metrics_seen_1
  AND toUUID(id) NOT IN {database}.system_metrics_seen_2
  AND toUUID(id) NOT IN {database}.system_metrics_seen_3
LIMIT 1 BY id;

DROP TABLE IF EXISTS {database}.system_metrics_queue {on_cluster};

CREATE TABLE IF NOT EXISTS {database}.system_metrics_queue {on_cluster} (
  id Array(String),
  version Array(UInt16),
  timestamp_ms Array(UInt64),
  received_at_ms Array(UInt64),
  name Array(String),
  value Array(Float64),
  unit Array(String),
  tag_keys Array(Array(String)),
  tag_values Array(Array(String)),
  heartbeat UInt8
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.system_metric',
  kafka_group_name = '{database}_system_metrics',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};
