-- Fraud alerts: one row per (rule, order) that fired, written by one materialized view per rule
-- over the deduplicated sales as recorded in `ticket_sales_ids` (one step after `ticket_sales`
-- holds the block, so the look-ups below see it on every version), each reading its rule's current
-- setting from `fraud_rules_current` for every block (scalar subqueries with an aggregate, so a
-- missing rule reads as disabled instead of failing the block). Exactly once per order and
-- rule, because the sales they read are deduplicated.
-- Written for ClickHouse 18.16's limits: one JOIN per query, no lambdas over joined columns,
-- view output types equal to the table's (no implicit casts); ALL (not ANY) INNER JOIN, since
-- current ClickHouse's ANY INNER JOIN also uses each right row once.
--
-- Analysts read the view `fraud_alerts`:
--   detected_at DateTime  when the rule fired (ingest time)
--   rule        String    large_amount | velocity | unusual_location
--   event_id    String    the show
--   user_id     String
--   order_id    String
--   amount      Decimal   the order total
--   details     String    the reason, with the numbers
--
-- velocity and unusual_location compare each order with the user's other orders, looked up in
-- `ticket_sales` (which already holds the current block; a subquery on a view's own source
-- table would see only the block on current ClickHouse): velocity over the last 2 hours of event
-- time, unusual_location over the rule's look-back from now. Orders are ranked by
-- (timestamp, id), so with a limit of 5 the 6th and later orders in a window fire, whatever the
-- block boundaries.

CREATE TABLE IF NOT EXISTS {database}.fraud_alerts_log {on_cluster} (
  detected_at DateTime,
  rule String,
  event_id String,
  user_id String,
  order_id String,
  amount Decimal(18, 4),
  details String,
  sale_id UUID,
  event_time DateTime
) ENGINE = MergeTree
PARTITION BY toYYYYMM(detected_at)
ORDER BY (rule, detected_at, order_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.fraud_large_amount_mv {on_cluster}
TO {database}.fraud_alerts_log AS
SELECT
  now() AS detected_at,
  'large_amount' AS rule,
  event_id,
  user_id,
  order_id,
  amount,
  concat('order total ', toString(toFloat64(amount)), ' ', toString(currency), ' is above the limit of ',
         toString((SELECT any(threshold) FROM {database}.fraud_rules_current WHERE rule = 'large_amount'))) AS details,
  id AS sale_id,
  event_time
FROM {database}.{inserted:ticket_sales_ids_mv:ticket_sales_ids}
WHERE (SELECT max(enabled) FROM {database}.fraud_rules_current WHERE rule = 'large_amount') = 1
  AND toFloat64(amount) > (SELECT any(threshold) FROM {database}.fraud_rules_current WHERE rule = 'large_amount');

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.fraud_velocity_mv {on_cluster}
TO {database}.fraud_alerts_log AS
SELECT
  now() AS detected_at,
  'velocity' AS rule,
  event_id,
  user_id,
  order_id,
  amount,
  concat('order ', toString(rank), ' by ', user_id, ' within ',
         toString((SELECT max(window_seconds) FROM {database}.fraud_rules_current WHERE rule = 'velocity')),
         ' s; more than ', toString((SELECT any(threshold) FROM {database}.fraud_rules_current WHERE rule = 'velocity')),
         ' is suspicious') AS details,
  id AS sale_id,
  event_time
FROM {database}.{inserted:ticket_sales_ids_mv:ticket_sales_ids}
-- Per user, every order of the look-back as 'bucket/timestamp/id', sorted, with its bucket beside
-- it: an order's rank in its window is its position minus the position of its window's first order.
ALL INNER JOIN (
  SELECT
    user_id,
    arrayMap(x -> tupleElement(x, 1), orders) AS order_keys,
    arrayMap(x -> tupleElement(x, 2), orders) AS order_buckets
  FROM (
    SELECT
      user_id,
      arraySort(groupArray(tuple(
        concat(toString(intDiv(toUInt32(event_time), w)), '/', toString(timestamp_ms), '/', toString(id)),
        intDiv(toUInt32(event_time), w)))) AS orders
    FROM (
      SELECT
        user_id,
        event_time,
        timestamp_ms,
        id,
        greatest((SELECT max(window_seconds) FROM {database}.fraud_rules_current WHERE rule = 'velocity'), 1) AS w
      FROM {database}.ticket_sales
      WHERE event_time >= now() - INTERVAL 2 HOUR
    )
    GROUP BY user_id
  )
) AS user_orders USING (user_id)
WHERE (SELECT max(enabled) FROM {database}.fraud_rules_current WHERE rule = 'velocity') = 1
  AND (indexOf(order_keys, concat(
         toString(intDiv(toUInt32(event_time), greatest((SELECT max(window_seconds) FROM {database}.fraud_rules_current WHERE rule = 'velocity'), 1))),
         '/', toString(timestamp_ms), '/', toString(id)))
       - indexOf(order_buckets,
         intDiv(toUInt32(event_time), greatest((SELECT max(window_seconds) FROM {database}.fraud_rules_current WHERE rule = 'velocity'), 1)))
       + 1 AS rank)
      > (SELECT any(threshold) FROM {database}.fraud_rules_current WHERE rule = 'velocity');

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.fraud_unusual_location_mv {on_cluster}
TO {database}.fraud_alerts_log AS
SELECT
  now() AS detected_at,
  'unusual_location' AS rule,
  event_id,
  user_id,
  order_id,
  amount,
  concat('purchase from ', toString(country), '; the user''s ', toString(length(prior_countries)),
         ' earlier purchase(s) in the look-back came from ', arrayStringConcat(arrayDistinct(prior_countries), ', ')) AS details,
  id AS sale_id,
  event_time
FROM {database}.{inserted:ticket_sales_ids_mv:ticket_sales_ids}
ALL INNER JOIN (
  SELECT
    user_id,
    arrayMap(x -> tupleElement(x, 1), history) AS history_keys,
    arrayMap(x -> tupleElement(x, 2), history) AS history_countries
  FROM (
    SELECT
      user_id,
      arraySort(groupArray(tuple(concat(toString(timestamp_ms), '/', toString(id)), toString(country)))) AS history
    FROM {database}.ticket_sales
    WHERE event_time >= now() - (SELECT max(window_seconds) FROM {database}.fraud_rules_current WHERE rule = 'unusual_location')
    GROUP BY user_id
  )
) AS user_history USING (user_id)
WHERE (SELECT max(enabled) FROM {database}.fraud_rules_current WHERE rule = 'unusual_location') = 1
  AND length(arraySlice(history_countries, 1,
        greatest(indexOf(history_keys, concat(toString(timestamp_ms), '/', toString(id))) - 1, 0)) AS prior_countries)
      >= (SELECT any(threshold) FROM {database}.fraud_rules_current WHERE rule = 'unusual_location')
  AND NOT has(prior_countries, toString(country));

CREATE VIEW IF NOT EXISTS {database}.fraud_alerts {on_cluster} AS
SELECT detected_at, rule, event_id, user_id, order_id, amount, details
FROM {database}.fraud_alerts_log;
