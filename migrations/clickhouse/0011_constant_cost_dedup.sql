-- Constant-cost dedup and fresh Kafka blocks (replaces the dedup of 0002-0004; see README
-- "Exactly once" and bench/freshness).
--
-- Dedup. Until now each dedup view checked every block against
--   NOT IN (SELECT id FROM <stream>_ids WHERE ingested_at >= now() - INTERVAL 1 DAY)
-- which builds the whole day's id set again for every block: measured on 18.16, 0.15-0.2 s per
-- 100-row block at 1M ids and 1.2-1.4 s at 5M, growing linearly with history. Now each stream
-- keeps its ids in four `Set`-engine tables, <stream>_seen_0 to <stream>_seen_3. A Set is an
-- in-memory hash set that `x NOT IN db.set_table` probes without rebuilding anything: the cost
-- per row does not depend on how many ids it holds (100 ids against 5M stored: under 10 ms).
--
-- Time is cut into slots of {dedup_slot_seconds} seconds (DEDUP_SLOT_SECONDS when this file
-- first ran; kept in `dedup_settings` for the job below). During slot n, `<stream>_seen_<k>_mv`
-- with k = n % 4 adds every id the dedup view lets through to set k. Near the end of slot n the
-- service's dedup horizon job (src/dedup/horizon-rotation.ts) empties set (n + 1) % 4, which
-- holds slot n - 3, with TRUNCATE (18.16 truncates a Set in place; no table is renamed, no view
-- or Kafka table touched). So an id is remembered at least 3 slots minus the job's lead and at
-- most 4 slots (README: figures and memory per million ids). If the job does not run, nothing
-- is lost: the set simply keeps its old ids until it does.
--
-- The backfill below copies the last day of ids from the old <stream>_ids tables into the sets
-- of the slots they were ingested in, so a deployment upgraded mid-stream keeps its horizon
-- (0012 then drops the ids tables of interactions and metrics; a separate file, so that this
-- one can be run again after a partial failure). `ticket_sales_ids` stays: the fraud rules read new sales from it, and the
-- same job drops its partitions older than two days.
--
-- Fresh blocks. 18.16's Kafka engine ends a block at kafka_max_block_size rows or after 0.5 s
-- without a message, and checks stream_flush_interval_ms only between blocks: a steady trickle
-- of 5 events/s waited ~20 s for a 100-row block. The queues are created again with
-- {kafka_max_block_size} (CLICKHOUSE_KAFKA_MAX_BLOCK_SIZE, default 1): every row ends a block,
-- so a pass ends stream_flush_interval_ms (100 ms) after it started, at any rate. The consumer
-- groups keep their names, so the new tables resume from the committed offsets. (One-row
-- blocks are squashed into one insert per pass; measured: 100k rows consumed in 3.8 s with 1,
-- 2.8 s with 100.) Dropping a dedup view and its queue is safe while traffic flows: a Kafka
-- table with no view attached stops consuming, and the views that read from the dedup view
-- are bound to it by name.
--
-- Heartbeats. One-row blocks do not help a row followed by a pause: 18.16 then waits for more
-- (polls of 0.5 s each; measured: the last sale before a pause counted ~2.4 s after its 202).
-- So the API sends every topic a heartbeat record, `{"heartbeat":1,...}`, every
-- KAFKA_HEARTBEAT_MS (250 ms; src/events/block-heartbeat.ts): a pause never reaches 0.5 s,
-- and the pass ends on time. Every view below drops rows with heartbeat = 1; records from
-- producers never carry the field (JSONEachRow fills it with 0).

-- ticket_sales
CREATE TABLE IF NOT EXISTS {database}.ticket_sales_seen_0 {on_cluster} (id UUID) ENGINE = Set;
CREATE TABLE IF NOT EXISTS {database}.ticket_sales_seen_1 {on_cluster} (id UUID) ENGINE = Set;
CREATE TABLE IF NOT EXISTS {database}.ticket_sales_seen_2 {on_cluster} (id UUID) ENGINE = Set;
CREATE TABLE IF NOT EXISTS {database}.ticket_sales_seen_3 {on_cluster} (id UUID) ENGINE = Set;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_sales_seen_0_mv {on_cluster}
TO {database}.ticket_sales_seen_0 AS
SELECT id FROM {database}.{inserted:ticket_sales_dedup_mv:ticket_sales}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_sales_seen_1_mv {on_cluster}
TO {database}.ticket_sales_seen_1 AS
SELECT id FROM {database}.{inserted:ticket_sales_dedup_mv:ticket_sales}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_sales_seen_2_mv {on_cluster}
TO {database}.ticket_sales_seen_2 AS
SELECT id FROM {database}.{inserted:ticket_sales_dedup_mv:ticket_sales}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 2;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_sales_seen_3_mv {on_cluster}
TO {database}.ticket_sales_seen_3 AS
SELECT id FROM {database}.{inserted:ticket_sales_dedup_mv:ticket_sales}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 3;

INSERT INTO {database}.ticket_sales_seen_0
SELECT id FROM {database}.ticket_sales_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 0;

INSERT INTO {database}.ticket_sales_seen_1
SELECT id FROM {database}.ticket_sales_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 1;

INSERT INTO {database}.ticket_sales_seen_2
SELECT id FROM {database}.ticket_sales_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 2;

INSERT INTO {database}.ticket_sales_seen_3
SELECT id FROM {database}.ticket_sales_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 3;

DROP TABLE IF EXISTS {database}.ticket_sales_dedup_mv {on_cluster};

DROP TABLE IF EXISTS {database}.ticket_sales_queue {on_cluster};

CREATE TABLE IF NOT EXISTS {database}.ticket_sales_queue {on_cluster} (
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
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.ticket_sale',
  kafka_group_name = '{database}_ticket_sales',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};

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
FROM {database}.ticket_sales_queue
WHERE heartbeat = 0
  AND toUUID(id) NOT IN {database}.ticket_sales_seen_0
  AND toUUID(id) NOT IN {database}.ticket_sales_seen_1
  AND toUUID(id) NOT IN {database}.ticket_sales_seen_2
  AND toUUID(id) NOT IN {database}.ticket_sales_seen_3
LIMIT 1 BY id;

-- user_interactions
CREATE TABLE IF NOT EXISTS {database}.user_interactions_seen_0 {on_cluster} (id UUID) ENGINE = Set;
CREATE TABLE IF NOT EXISTS {database}.user_interactions_seen_1 {on_cluster} (id UUID) ENGINE = Set;
CREATE TABLE IF NOT EXISTS {database}.user_interactions_seen_2 {on_cluster} (id UUID) ENGINE = Set;
CREATE TABLE IF NOT EXISTS {database}.user_interactions_seen_3 {on_cluster} (id UUID) ENGINE = Set;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.user_interactions_seen_0_mv {on_cluster}
TO {database}.user_interactions_seen_0 AS
SELECT id FROM {database}.{inserted:user_interactions_dedup_mv:user_interactions}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.user_interactions_seen_1_mv {on_cluster}
TO {database}.user_interactions_seen_1 AS
SELECT id FROM {database}.{inserted:user_interactions_dedup_mv:user_interactions}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.user_interactions_seen_2_mv {on_cluster}
TO {database}.user_interactions_seen_2 AS
SELECT id FROM {database}.{inserted:user_interactions_dedup_mv:user_interactions}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 2;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.user_interactions_seen_3_mv {on_cluster}
TO {database}.user_interactions_seen_3 AS
SELECT id FROM {database}.{inserted:user_interactions_dedup_mv:user_interactions}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 3;

INSERT INTO {database}.user_interactions_seen_0
SELECT id FROM {database}.user_interactions_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 0;

INSERT INTO {database}.user_interactions_seen_1
SELECT id FROM {database}.user_interactions_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 1;

INSERT INTO {database}.user_interactions_seen_2
SELECT id FROM {database}.user_interactions_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 2;

INSERT INTO {database}.user_interactions_seen_3
SELECT id FROM {database}.user_interactions_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 3;

DROP TABLE IF EXISTS {database}.user_interactions_dedup_mv {on_cluster};

DROP TABLE IF EXISTS {database}.user_interactions_queue {on_cluster};

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
  referrer String,
  heartbeat UInt8
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.user_interaction',
  kafka_group_name = '{database}_user_interactions',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};

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
WHERE heartbeat = 0
  AND toUUID(id) NOT IN {database}.user_interactions_seen_0
  AND toUUID(id) NOT IN {database}.user_interactions_seen_1
  AND toUUID(id) NOT IN {database}.user_interactions_seen_2
  AND toUUID(id) NOT IN {database}.user_interactions_seen_3
LIMIT 1 BY id;

-- system_metrics
CREATE TABLE IF NOT EXISTS {database}.system_metrics_seen_0 {on_cluster} (id UUID) ENGINE = Set;
CREATE TABLE IF NOT EXISTS {database}.system_metrics_seen_1 {on_cluster} (id UUID) ENGINE = Set;
CREATE TABLE IF NOT EXISTS {database}.system_metrics_seen_2 {on_cluster} (id UUID) ENGINE = Set;
CREATE TABLE IF NOT EXISTS {database}.system_metrics_seen_3 {on_cluster} (id UUID) ENGINE = Set;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.system_metrics_seen_0_mv {on_cluster}
TO {database}.system_metrics_seen_0 AS
SELECT id FROM {database}.{inserted:system_metrics_dedup_mv:system_metrics}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.system_metrics_seen_1_mv {on_cluster}
TO {database}.system_metrics_seen_1 AS
SELECT id FROM {database}.{inserted:system_metrics_dedup_mv:system_metrics}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.system_metrics_seen_2_mv {on_cluster}
TO {database}.system_metrics_seen_2 AS
SELECT id FROM {database}.{inserted:system_metrics_dedup_mv:system_metrics}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 2;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.system_metrics_seen_3_mv {on_cluster}
TO {database}.system_metrics_seen_3 AS
SELECT id FROM {database}.{inserted:system_metrics_dedup_mv:system_metrics}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 3;

INSERT INTO {database}.system_metrics_seen_0
SELECT id FROM {database}.system_metrics_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 0;

INSERT INTO {database}.system_metrics_seen_1
SELECT id FROM {database}.system_metrics_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 1;

INSERT INTO {database}.system_metrics_seen_2
SELECT id FROM {database}.system_metrics_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 2;

INSERT INTO {database}.system_metrics_seen_3
SELECT id FROM {database}.system_metrics_ids
WHERE ingested_at >= now() - INTERVAL 1 DAY AND intDiv(toUInt32(ingested_at), {dedup_slot_seconds}) % 4 = 3;

DROP TABLE IF EXISTS {database}.system_metrics_dedup_mv {on_cluster};

DROP TABLE IF EXISTS {database}.system_metrics_queue {on_cluster};

CREATE TABLE IF NOT EXISTS {database}.system_metrics_queue {on_cluster} (
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
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.system_metric',
  kafka_group_name = '{database}_system_metrics',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};

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
WHERE heartbeat = 0
  AND toUUID(id) NOT IN {database}.system_metrics_seen_0
  AND toUUID(id) NOT IN {database}.system_metrics_seen_1
  AND toUUID(id) NOT IN {database}.system_metrics_seen_2
  AND toUUID(id) NOT IN {database}.system_metrics_seen_3
LIMIT 1 BY id;

-- rejected_events (no dedup: a log)

DROP TABLE IF EXISTS {database}.rejected_events_mv {on_cluster};

DROP TABLE IF EXISTS {database}.rejected_events_queue {on_cluster};

CREATE TABLE IF NOT EXISTS {database}.rejected_events_queue {on_cluster} (
  received_at_ms UInt64,
  source String,
  record_index UInt32,
  id String,
  event_type String,
  raw String,
  errors Array(String),
  heartbeat UInt8
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.rejected',
  kafka_group_name = '{database}_rejected_events',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};

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
FROM {database}.rejected_events_queue
WHERE heartbeat = 0;

-- The slot length the views above were created with, read by the dedup horizon job.
CREATE TABLE IF NOT EXISTS {database}.dedup_settings {on_cluster} (
  slot_seconds UInt32
) ENGINE = TinyLog;

INSERT INTO {database}.dedup_settings
SELECT {dedup_slot_seconds} WHERE (SELECT count() FROM {database}.dedup_settings) = 0;
