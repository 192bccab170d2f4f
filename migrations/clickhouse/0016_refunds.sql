-- Refunds: the `ticket_refund` event (docs/ingest-api.md), booked against what was sold, with
-- net columns beside the gross ones (docs/analytics.md "Refunds").
--
-- Chain. events.ticket_refund is read like the sales topic (0015): one row of arrays per
-- message, exploded by ticket_refunds_rows_mv, deduplicated by id against the Set tables
-- ticket_refunds_seen_0..3 (the same ring and horizon job as 0011), into `ticket_refunds`: every
-- refund a producer sent, once, whether or not it matches a sale.
--
-- Booking. Whether a refund counts depends on its order: a refund of an order ClickHouse has not
-- seen, of another show, category or currency, or of more tickets or money than remain of the
-- order, must not be subtracted. That check reads the order's sales and its earlier refunds,
-- which a view fired by 18.16's Kafka engine cannot (JOINs and scalar subqueries fail with Code
-- 393, see 0010). So the service's refund booker (src/refunds/refund-booker.ts, in the `rules`
-- role, one leader) decides each new refund and writes the decision into `refund_decisions`:
--   booked    counts in every net figure, in the window of the refund's own timestamp;
--   anomaly   never counts; kept with the reason (refund_anomalies);
--   pending   the order is not in `sales_by_order` yet (a retrying producer can send the refund
--             before its sale): re-checked on every pass and booked as soon as the sale is
--             there; after REFUND_WAIT_HOURS without it, an anomaly (order_not_seen).
-- A decision is keyed by the refund's id (ReplacingMergeTree(version): pending is version 1,
-- booked and anomaly version 2, final), and every reader takes the latest decision per id. So a
-- pass repeated after a crash, or a refund sent twice beyond the dedup horizon, writes the same
-- key again and counts once.
--
-- Net figures are read, not stored: `refunds` (booked refunds, one row each) is a few percent of
-- the sales, so the views add them at read time (a UNION ALL grouped by key, like
-- capacity_status in 0014) rather than altering the window tables.
--
-- sales_by_order: each sale by order_id, what the booker looks an order up in (an index range per
-- order; ticket_sales is sorted by show and time). Backfilled from ticket_sales once, as 0014
-- backfills sales_totals. An order missing there is looked up in ticket_sales too (the refund's
-- show only): in 3 of 6 runs of the refunds integration test, the first sales after this file
-- ran reached ticket_sales but not sales_by_order (not explained; creating the sales queue again
-- after the view, as 0015 does for its chains, made 18.16 abort on the DROP: librdkafka's
-- rd_kafka_cgrp_destroy_final assertion, see test/harness/service-harness.ts).

-- ticket_refunds: the same chain as ticket_sales (0015), built over a Null stand-in of the
-- queue first so the whole chain exists before the Kafka table consumes.

CREATE TABLE IF NOT EXISTS {database}.ticket_refunds_queue {on_cluster} (
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
  reason Array(String),
  heartbeat UInt8
) ENGINE = Null;

CREATE TABLE IF NOT EXISTS {database}.ticket_refunds_rows {on_cluster} (
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
  reason String,
  heartbeat UInt8
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_refunds_rows_mv {on_cluster}
TO {database}.ticket_refunds_rows AS
SELECT id, version, timestamp_ms, received_at_ms, event_id, order_id, user_id, category, quantity, amount, currency, channel, reason, heartbeat
FROM {database}.ticket_refunds_queue
ARRAY JOIN id, version, timestamp_ms, received_at_ms, event_id, order_id, user_id, category, quantity, amount, currency, channel, reason;

-- Partitioned by the day ClickHouse counted each refund: the booker reads the last day's.
CREATE TABLE IF NOT EXISTS {database}.ticket_refunds {on_cluster} (
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
  reason String
) ENGINE = MergeTree
PARTITION BY toDate(ingested_at)
ORDER BY (event_id, event_time, id);

CREATE TABLE IF NOT EXISTS {database}.ticket_refunds_seen_0 {on_cluster} (id UUID) ENGINE = Set;

CREATE TABLE IF NOT EXISTS {database}.ticket_refunds_seen_1 {on_cluster} (id UUID) ENGINE = Set;

CREATE TABLE IF NOT EXISTS {database}.ticket_refunds_seen_2 {on_cluster} (id UUID) ENGINE = Set;

CREATE TABLE IF NOT EXISTS {database}.ticket_refunds_seen_3 {on_cluster} (id UUID) ENGINE = Set;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_refunds_dedup_mv {on_cluster}
TO {database}.ticket_refunds AS
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
  reason
FROM {database}.{inserted:ticket_refunds_rows_mv:ticket_refunds_rows}
WHERE heartbeat = 0
  AND toUUID(id) NOT IN {database}.ticket_refunds_seen_0
  AND toUUID(id) NOT IN {database}.ticket_refunds_seen_1
  AND toUUID(id) NOT IN {database}.ticket_refunds_seen_2
  AND toUUID(id) NOT IN {database}.ticket_refunds_seen_3
LIMIT 1 BY id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_refunds_seen_0_mv {on_cluster}
TO {database}.ticket_refunds_seen_0 AS
SELECT id FROM {database}.{inserted:ticket_refunds_dedup_mv:ticket_refunds}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_refunds_seen_1_mv {on_cluster}
TO {database}.ticket_refunds_seen_1 AS
SELECT id FROM {database}.{inserted:ticket_refunds_dedup_mv:ticket_refunds}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_refunds_seen_2_mv {on_cluster}
TO {database}.ticket_refunds_seen_2 AS
SELECT id FROM {database}.{inserted:ticket_refunds_dedup_mv:ticket_refunds}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 2;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.ticket_refunds_seen_3_mv {on_cluster}
TO {database}.ticket_refunds_seen_3 AS
SELECT id FROM {database}.{inserted:ticket_refunds_dedup_mv:ticket_refunds}
WHERE intDiv(toUInt32(now()), {dedup_slot_seconds}) % 4 = 3;

DROP TABLE IF EXISTS {database}.ticket_refunds_queue {on_cluster};

CREATE TABLE IF NOT EXISTS {database}.ticket_refunds_queue {on_cluster} (
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
  reason Array(String),
  heartbeat UInt8
) ENGINE = Kafka SETTINGS
  kafka_broker_list = '{kafka_brokers}',
  kafka_topic_list = '{topic_prefix}events.ticket_refund',
  kafka_group_name = '{database}_ticket_refunds',
  kafka_format = 'JSONEachRow',
  kafka_num_consumers = 1,
  kafka_max_block_size = {kafka_max_block_size};

-- sales_by_order: each sale once per id (ReplacingMergeTree folds a copy), by order.

CREATE TABLE IF NOT EXISTS {database}.sales_by_order {on_cluster} (
  order_id String,
  id UUID,
  event_id String,
  category String,
  quantity UInt16,
  amount Decimal(18, 4),
  currency FixedString(3),
  event_time DateTime
) ENGINE = ReplacingMergeTree
ORDER BY (order_id, id);

INSERT INTO {database}.sales_by_order
SELECT order_id, id, event_id, category, quantity, amount, currency, event_time
FROM {database}.ticket_sales
WHERE (SELECT count() FROM {database}.sales_by_order) = 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sales_by_order_mv {on_cluster}
TO {database}.sales_by_order AS
SELECT order_id, id, event_id, category, quantity, amount, currency, event_time
FROM {database}.{inserted:ticket_sales_dedup_mv:ticket_sales};

-- refund_decisions: written by the refund booker only.

CREATE TABLE IF NOT EXISTS {database}.refund_decisions {on_cluster} (
  id UUID,
  event_id String,
  category String,
  order_id String,
  user_id String,
  refunded_at DateTime,
  timestamp_ms UInt64,
  ingested_at DateTime,
  quantity UInt16,
  amount Decimal(18, 4),
  currency FixedString(3),
  channel String,
  reason String,
  outcome Enum8('pending' = 1, 'booked' = 2, 'anomaly' = 3),
  anomaly Enum8(
    'none' = 0,
    'order_not_seen' = 1,
    'other_show' = 2,
    'other_category' = 3,
    'other_currency' = 4,
    'more_tickets_than_remain' = 5,
    'more_money_than_remains' = 6
  ),
  detail String,
  decided_at DateTime,
  version UInt8
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toDate(ingested_at)
ORDER BY (event_id, category, id);

-- refunds: every booked refund, once (the latest decision of each id). Columns:
--   id, event_id, category, order_id, user_id, refunded_at (the refund's own time), quantity,
--   amount, currency, channel, reason, decided_at
CREATE VIEW IF NOT EXISTS {database}.refunds {on_cluster} AS
SELECT id, event_id, category, order_id, user_id, refunded_at, quantity, amount, currency, channel,
  reason, decided_at
FROM (
  SELECT
    event_id,
    category,
    id,
    argMax(o, v) AS outcome,
    any(ord) AS order_id,
    any(u) AS user_id,
    any(t) AS refunded_at,
    any(q) AS quantity,
    any(a) AS amount,
    any(c) AS currency,
    any(ch) AS channel,
    any(r) AS reason,
    max(d) AS decided_at
  FROM (
    SELECT event_id, category, id, outcome AS o, version AS v, order_id AS ord, user_id AS u,
      refunded_at AS t, quantity AS q, amount AS a, currency AS c, channel AS ch, reason AS r,
      decided_at AS d
    FROM {database}.refund_decisions
  )
  GROUP BY event_id, category, id
)
WHERE outcome = 'booked';

-- refund_anomalies: every refund that does not count, with why. Columns as `refunds`, plus
--   status    'waiting': the order is not there yet, the booker still looks (pending);
--             'final': it will never count
--   anomaly   order_not_seen | other_show | other_category | other_currency |
--             more_tickets_than_remain | more_money_than_remains
--   detail    in words, e.g. 'order o-17 has 1 of 2 GA tickets left; the refund returns 2'
CREATE VIEW IF NOT EXISTS {database}.refund_anomalies {on_cluster} AS
SELECT id, event_id, category, order_id, user_id, refunded_at, quantity, amount, currency, channel,
  reason, if(outcome = 'pending', 'waiting', 'final') AS status, anomaly, detail, decided_at
FROM (
  SELECT
    event_id,
    category,
    id,
    argMax(o, v) AS outcome,
    argMax(an, v) AS anomaly,
    argMax(de, v) AS detail,
    any(ord) AS order_id,
    any(u) AS user_id,
    any(t) AS refunded_at,
    any(q) AS quantity,
    any(a) AS amount,
    any(c) AS currency,
    any(ch) AS channel,
    any(r) AS reason,
    max(d) AS decided_at
  FROM (
    SELECT event_id, category, id, outcome AS o, version AS v, anomaly AS an, detail AS de,
      order_id AS ord, user_id AS u, refunded_at AS t, quantity AS q, amount AS a, currency AS c,
      channel AS ch, reason AS r, decided_at AS d
    FROM {database}.refund_decisions
  )
  GROUP BY event_id, category, id
)
WHERE outcome != 'booked';

-- The sales windows, again, with the refunds of each window (by the refund's own timestamp).
-- The gross columns keep their meaning; a window may hold refunds and no sales (net below 0).
--   refunds           UInt64   booked refund records
--   tickets_refunded  UInt64   tickets they returned
--   revenue_refunded  Decimal  money they returned
--   net_tickets       Int64    tickets - tickets_refunded
--   net_revenue       Decimal  revenue - revenue_refunded

DROP TABLE IF EXISTS {database}.sales_per_minute {on_cluster};

CREATE VIEW IF NOT EXISTS {database}.sales_per_minute {on_cluster} AS
SELECT
  window_start,
  event_id,
  category,
  sum(t) AS tickets,
  sum(o) AS orders,
  sum(r) AS revenue,
  sum(u) AS unique_buyers,
  sum(rf) AS refunds,
  sum(tr) AS tickets_refunded,
  sum(rr) AS revenue_refunded,
  toInt64(tickets) - toInt64(tickets_refunded) AS net_tickets,
  revenue - revenue_refunded AS net_revenue
FROM (
  SELECT window_start, event_id, category, sumMerge(tickets_state) AS t, countMerge(orders_state) AS o,
    sumMerge(revenue_state) AS r, uniqExactMerge(buyers_state) AS u, toUInt64(0) AS rf,
    toUInt64(0) AS tr, toDecimal128(0, 4) AS rr
  FROM {database}.sales_per_minute_agg
  GROUP BY window_start, event_id, category
  UNION ALL
  SELECT toStartOfMinute(refunded_at) AS window_start, event_id, category, toUInt64(0) AS t,
    toUInt64(0) AS o, toDecimal128(0, 4) AS r, toUInt64(0) AS u, count() AS rf,
    sum(quantity) AS tr, sum(amount) AS rr
  FROM {database}.refunds
  GROUP BY window_start, event_id, category
)
GROUP BY window_start, event_id, category;

DROP TABLE IF EXISTS {database}.sales_per_hour {on_cluster};

CREATE VIEW IF NOT EXISTS {database}.sales_per_hour {on_cluster} AS
SELECT
  window_start,
  event_id,
  category,
  sum(t) AS tickets,
  sum(o) AS orders,
  sum(r) AS revenue,
  sum(u) AS unique_buyers,
  sum(rf) AS refunds,
  sum(tr) AS tickets_refunded,
  sum(rr) AS revenue_refunded,
  toInt64(tickets) - toInt64(tickets_refunded) AS net_tickets,
  revenue - revenue_refunded AS net_revenue
FROM (
  SELECT window_start, event_id, category, sumMerge(tickets_state) AS t, countMerge(orders_state) AS o,
    sumMerge(revenue_state) AS r, uniqExactMerge(buyers_state) AS u, toUInt64(0) AS rf,
    toUInt64(0) AS tr, toDecimal128(0, 4) AS rr
  FROM {database}.sales_per_hour_agg
  GROUP BY window_start, event_id, category
  UNION ALL
  SELECT toStartOfHour(refunded_at) AS window_start, event_id, category, toUInt64(0) AS t,
    toUInt64(0) AS o, toDecimal128(0, 4) AS r, toUInt64(0) AS u, count() AS rf,
    sum(quantity) AS tr, sum(amount) AS rr
  FROM {database}.refunds
  GROUP BY window_start, event_id, category
)
GROUP BY window_start, event_id, category;

-- capacity_status, again: `sold` is net of booked refunds (refunded seats are free again), and
-- `refunded` gives the tickets refunded. capacity_thresholds, capacity_alerts and
-- pricing_signals read it, so a refund that takes a category back under a threshold re-arms it
-- (src/capacity/transitions/rearm.sql), and it fires again when net sales cross it anew.
--   refunded  UInt64  tickets of booked refunds
--   sold      UInt64  tickets sold minus tickets refunded

DROP TABLE IF EXISTS {database}.capacity_status {on_cluster};

CREATE VIEW IF NOT EXISTS {database}.capacity_status {on_cluster} AS
SELECT
  event_id,
  category,
  capacity,
  sold,
  refunded,
  toUInt64(greatest(toInt64(capacity) - toInt64(sold), 0)) AS remaining,
  if(capacity = 0, if(sold = 0, 0., 100.), sold * 100. / capacity) AS percent_sold
FROM (
  SELECT event_id, category, max(c) AS capacity, toUInt64(greatest(toInt64(sum(t)) - toInt64(sum(rt)), 0)) AS sold,
    sum(rt) AS refunded, max(l) AS listed
  FROM (
    SELECT show_id AS event_id, category, capacity AS c, toUInt64(0) AS t, toUInt64(0) AS rt,
      toUInt8(1) AS l
    FROM {database}.ticket_categories
    UNION ALL
    SELECT event_id, category, toUInt32(0) AS c, tickets AS t, toUInt64(0) AS rt, toUInt8(0) AS l
    FROM {database}.sales_totals
    UNION ALL
    SELECT event_id, category, toUInt32(0) AS c, toUInt64(0) AS t, toUInt64(quantity) AS rt,
      toUInt8(0) AS l
    FROM {database}.refunds
  )
  GROUP BY event_id, category
)
WHERE listed = 1;

-- pricing_signals, again, on net sales: tickets refunded in the last 15 minutes (booked refunds,
-- by the refund's own time) are taken off sold_15m, so the sell-through, the projection and the
-- surge all follow net sales, and `sold` is net (capacity_status above). The reason says when
-- refunds moved it: 'sold 12 % in 15 min net of 3 refunded; ...', or 'refunds outpaced sales in
-- the last 15 min (5 tickets refunded)'.
--   refunded_15m  UInt64  tickets of booked refunds in the last 15 minutes
--   sold_15m      UInt64  tickets sold minus refunded in the last 15 minutes, never below 0

DROP TABLE IF EXISTS {database}.pricing_signals {on_cluster};

CREATE VIEW IF NOT EXISTS {database}.pricing_signals {on_cluster} AS
SELECT
  event_id,
  category,
  capacity,
  sold,
  remaining,
  sold_15m,
  refunded_15m,
  sell_through_15m,
  projected_sellout_at,
  starts_at,
  hours_before_show,
  multiplier,
  multiIf(
    remaining = 0, 'sold out',
    sold_15m = 0 AND refunded_15m > 0,
      concat('refunds outpaced sales in the last 15 min (', toString(refunded_15m), ' tickets refunded)'),
    sold_15m = 0, 'no sales in the last 15 min',
    known_show = 0, concat('sold ', pct, ' % in 15 min', refund_note, '; the show start is not known'),
    concat(
      'sold ', pct, ' % in 15 min', refund_note, '; at this pace sells out ',
      multiIf(
        lead_hours >= 48, concat(toString(toUInt64(round(lead_hours / 24))), ' days'),
        lead_hours >= 2, concat(toString(toUInt64(round(lead_hours))), ' hours'),
        concat(toString(toUInt64(round(lead_hours * 60))), ' minutes')
      ),
      if(ifNull(hours_before_show, 0) >= 0, ' before the show', ' after the show starts'),
      if(hot = 1, concat('; suggest ×', toString(round(multiplier, 2))), '')
    )
  ) AS reason
FROM (
  SELECT
    event_id, category, capacity, sold, remaining, sold_15m, refunded_15m, sell_through_15m,
    projected_sellout_at, starts_at, hours_before_show, known_show,
    if(refunded_15m = 0, '', concat(' net of ', toString(refunded_15m), ' refunded')) AS refund_note,
    toUInt8(ifNull(sell_through_15m >= hot_sell_through AND hours_before_show >= early_sellout_hours, 0))
      AS hot,
    if(hot = 1, greatest(1., least(max_multiplier, 1. + surge_factor * sell_through_15m)), 1.)
      AS multiplier,
    toString(toUInt64(round(sell_through_15m * 100))) AS pct,
    abs(ifNull(hours_before_show, 0.)) AS lead_hours
  FROM (
    SELECT
      event_id, category, capacity, sold, remaining, sold_15m, refunded_15m, starts_at, known_show,
      hot_sell_through, early_sellout_hours, surge_factor, max_multiplier,
      if(capacity = 0, 0., sold_15m / capacity) AS sell_through_15m,
      if(sold_15m = 0 OR remaining = 0, NULL,
         now() + least(toUInt64(remaining * 900 / sold_15m), toUInt64(4294967295 - toUInt32(now()))))
        AS projected_sellout_at,
      if(known_show = 0, NULL, (toInt64(starts_at) - toInt64(projected_sellout_at)) / 3600)
        AS hours_before_show
    FROM (
      -- Per show, the last 15 minutes are the tail of its range of the (event_id, event_time) key.
      SELECT event_id, category, max(c) AS capacity, max(s) AS sold, max(r) AS remaining,
        toUInt64(greatest(toInt64(sum(q)) - toInt64(sum(rq)), 0)) AS sold_15m, sum(rq) AS refunded_15m,
        max(l) AS listed
      FROM (
        SELECT event_id, category, capacity AS c, sold AS s, remaining AS r, toUInt64(0) AS q,
          toUInt64(0) AS rq, toUInt8(1) AS l
        FROM {database}.capacity_status
        UNION ALL
        SELECT event_id, category, toUInt32(0) AS c, toUInt64(0) AS s, toUInt64(0) AS r,
          toUInt64(quantity) AS q, toUInt64(0) AS rq, toUInt8(0) AS l
        FROM {database}.ticket_sales
        WHERE event_time > now() - INTERVAL 15 MINUTE
        UNION ALL
        SELECT event_id, category, toUInt32(0) AS c, toUInt64(0) AS s, toUInt64(0) AS r,
          toUInt64(0) AS q, toUInt64(quantity) AS rq, toUInt8(0) AS l
        FROM {database}.refunds
        WHERE refunded_at > now() - INTERVAL 15 MINUTE
      )
      GROUP BY event_id, category
      HAVING listed = 1
    ) AS per_category
    -- Every show that has categories, with its start and its organizer's rules where known:
    -- complete, so an INNER JOIN serves. (18.16 pushes a WHERE on a LEFT JOIN's right-side
    -- column into that side, see capacity_status; into an INNER JOIN's sides that is correct, and
    -- `WHERE event_id = ...` reaches ticket_sales as an index range.) ALL, not ANY: current
    -- ClickHouse's ANY INNER JOIN keeps one left row per key, dropping all but one category.
    ALL INNER JOIN (
      SELECT
        event_id,
        max(k) AS known_show,
        argMax(st, k) AS starts_at,
        argMax(hst, k) AS hot_sell_through,
        argMax(esh, k) AS early_sellout_hours,
        argMax(sf, k) AS surge_factor,
        argMax(mm, k) AS max_multiplier
      FROM (
        SELECT show_id AS event_id, toUInt8(0) AS k, toDateTime(0) AS st, 0. AS hst, 0. AS esh,
          0. AS sf, 0. AS mm
        FROM {database}.ticket_categories
        UNION ALL
        SELECT show_id AS event_id, toUInt8(1) AS k, starts_at AS st, hst, esh, sf, mm
        FROM (SELECT show_id, starts_at, organizer_id FROM {database}.shows) AS show
        ALL INNER JOIN (
          -- Each organizer's rules; the defaults for an organizer without a pricing_rules row.
          SELECT organizer_id, argMax(h, r) AS hst, argMax(e, r) AS esh, argMax(f, r) AS sf,
            argMax(m, r) AS mm
          FROM (
            SELECT organizer_id, toUInt8(0) AS r, 0.10 AS h, 24. AS e, 1. AS f, 1.5 AS m
            FROM {database}.shows
            UNION ALL
            SELECT organizer_id, toUInt8(1) AS r, hot_sell_through AS h, early_sellout_hours AS e,
              surge_factor AS f, max_multiplier AS m
            FROM {database}.pricing_rules
          )
          GROUP BY organizer_id
        ) AS organizer_rules USING (organizer_id)
      )
      GROUP BY event_id
    ) AS per_show USING (event_id)
  )
);

-- The refund_velocity fraud rule's platform setting (src/fraud/rules/refund_velocity.sql): more
-- than 3 booked refunds by one buyer within an hour (tumbling, by the refunds' own time).
INSERT INTO {database}.fraud_rules (rule, threshold, window_seconds, enabled, description)
SELECT 'refund_velocity', 3., toUInt32(3600), 1, 'more than 3 refunds by one buyer within an hour'
WHERE (SELECT count() FROM {database}.fraud_rules WHERE rule = 'refund_velocity') = 0;
