-- Ticket sales: Kafka topic -> deduplicating materialized view -> raw table `ticket_sales`.
--
-- Exactly once, in what analysts query. A record can arrive twice: a client retries a request
-- with the same `id`, or the Kafka engine re-reads a block after a ClickHouse restart (offsets
-- are committed after the block is written). The view `ticket_sales_dedup_mv` therefore
--   1. drops ids already recorded in `ticket_sales_ids` within the dedup horizon (24 hours of
--      ingest time), and
--   2. keeps one row per id within a block (`LIMIT 1 BY id`),
-- and `ticket_sales_ids_mv` records each id it let through. Every view over sales selects FROM
-- `{inserted:ticket_sales_dedup_mv:ticket_sales}`: the rows this view let through (the runner renders it as
-- `ticket_sales_dedup_mv` on 18.16, which cascades views through the view, and as
-- `ticket_sales` on current ClickHouse, which cascades through the target table), so
-- aggregates and fraud rules are exact too. This relies on one consumer per Kafka table
-- (kafka_num_consumers = 1, one per shard), which processes blocks in order.
-- Retention: drop `ticket_sales_ids` partitions older than the horizon (one per day).
--
-- Freshness: 18.16's Kafka engine writes what a pass read when the pass ends, and checks
-- stream_flush_interval_ms (the server profile) only between blocks, a block ending at
-- kafka_max_block_size rows ({kafka_max_block_size} here, CLICKHOUSE_KAFKA_MAX_BLOCK_SIZE) or
-- after 0.5 s without messages. With the default block size (65,536 rows) steady traffic is
-- held back for many seconds, so both are lowered (measured by bench/freshness).
--
-- Money: `amount` travels as a decimal string and is stored as Decimal(18, 4): never a float.
-- Kafka metadata: 18.16's Kafka engine has no virtual columns, so `_topic` is the table's
-- topic, and `_partition` / `_offset` hold -1 ("not exposed by this server version").

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
  city String
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.ticket_sale',
  kafka_group_name = '{database}_ticket_sales',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};

CREATE TABLE IF NOT EXISTS {database}.ticket_sales {on_cluster} (
  id UUID,
  version UInt16,
  event_time DateTime,
  timestamp_ms UInt64,
  received_at DateTime,
  ingested_at DateTime,
  event_id String,
  order_id String,
  user_id String,
  category String,
  quantity UInt16,
  amount Decimal(18, 4),
  currency FixedString(3),
  channel String,
  country FixedString(2),
  city String,
  _topic String,
  _partition Int32,
  _offset Int64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (event_id, event_time, id);

-- The ids seen within the dedup horizon, with what the fraud rules (0010) need of each sale:
-- the fraud views read the rows inserted here, one step after `ticket_sales` holds the block.
CREATE TABLE IF NOT EXISTS {database}.ticket_sales_ids {on_cluster} (
  id UUID,
  ingested_at DateTime,
  event_time DateTime,
  timestamp_ms UInt64,
  event_id String,
  order_id String,
  user_id String,
  amount Decimal(18, 4),
  currency FixedString(3),
  country FixedString(2)
) ENGINE = MergeTree
PARTITION BY toDate(ingested_at)
ORDER BY (ingested_at, id);

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
WHERE toUUID(id) NOT IN (
  SELECT id FROM {database}.ticket_sales_ids WHERE ingested_at >= now() - INTERVAL 1 DAY
)
LIMIT 1 BY id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_sales_ids_mv {on_cluster}
TO {database}.ticket_sales_ids AS
SELECT id, ingested_at, event_time, timestamp_ms, event_id, order_id, user_id, amount, currency, country
FROM {database}.{inserted:ticket_sales_dedup_mv:ticket_sales};
