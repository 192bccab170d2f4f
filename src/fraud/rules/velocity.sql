-- name: velocity
-- purpose: Flags each order beyond the velocity rule's limit that one user placed within one tumbling window (ranked by timestamp, then id). Run by src/fraud/rule-runner.ts for the sales ingested in
--          [from_time, to_time); reads the rule's current setting from fraud_rules each run. An
--          organizer can switch it off for its shows (fraud_rule_overrides.enabled = 0); its
--          threshold and window are the platform's (they span a buyer's orders across organizers).
-- param: from_time DateTime start of the ingest window (inclusive)
-- param: to_time DateTime end of the ingest window (exclusive)
INSERT INTO {database}.fraud_alerts_log
SELECT
  now() AS detected_at,
  'velocity' AS rule,
  event_id,
  user_id,
  order_id,
  amount,
  concat('order ', toString(rank), ' by ', user_id, ' within ', toString(velocity_window),
         ' s; more than ', toString(velocity_limit), ' is suspicious') AS details,
  id AS sale_id,
  event_time
FROM {database}.ticket_sales_ids
-- Per user, every order of the look-back as 'bucket/timestamp/id', sorted, with its bucket beside
-- it: an order's rank in its window is its position minus the position of its window's first
-- order. The rule's setting rides along on every user's row.
ALL INNER JOIN (
  SELECT
    user_id,
    any(w) AS velocity_window,
    any(order_limit) AS velocity_limit,
    any(rule_enabled) AS velocity_enabled,
    arraySort(groupUniqArray(tuple(
      concat(toString(intDiv(toUInt32(event_time), w)), '/', toString(timestamp_ms), '/', toString(id)),
      intDiv(toUInt32(event_time), w)))) AS orders,
    arrayMap(x -> tupleElement(x, 1), orders) AS order_keys,
    arrayMap(x -> tupleElement(x, 2), orders) AS order_buckets
  FROM (
    -- Only the users who bought in this window, each an index range of sales_by_user, plus
    -- the window's own sales from ticket_sales_ids: sales_by_user is a sibling view's table and
    -- can lack a row of the window when the rule runs (groupUniqArray drops the overlap).
    SELECT user_id, event_time, timestamp_ms, id
    FROM {database}.sales_by_user
    WHERE user_id IN (
        SELECT user_id FROM {database}.ticket_sales_ids
        WHERE ingested_at >= {{from_time}} AND ingested_at < {{to_time}}
      )
      AND event_time >= now() - INTERVAL 2 HOUR
    UNION ALL
    SELECT user_id, event_time, timestamp_ms, id
    FROM {database}.ticket_sales_ids
    WHERE ingested_at >= {{from_time}} AND ingested_at < {{to_time}}
      AND event_time >= now() - INTERVAL 2 HOUR
  ) AS recent
  CROSS JOIN (
    SELECT
      greatest(argMax(window_seconds, tuple(updated_at, revision)), 1) AS w,
      argMax(threshold, tuple(updated_at, revision)) AS order_limit,
      argMax(enabled, tuple(updated_at, revision)) AS rule_enabled
    FROM {database}.fraud_rules
    WHERE rule = 'velocity'
  ) AS velocity_rule
  GROUP BY user_id
) AS user_orders USING (user_id)
WHERE ingested_at >= {{from_time}} AND ingested_at < {{to_time}}
  -- The runner evaluates the newest second again while rows may still join it: skip what fired.
  AND id NOT IN (
    SELECT sale_id FROM {database}.fraud_alerts_log WHERE rule = 'velocity' AND detected_at >= now() - INTERVAL 1 HOUR
  )
  AND event_id NOT IN (
    SELECT show_id FROM {database}.shows WHERE organizer_id IN (
      SELECT organizer_id FROM {database}.fraud_rule_overrides WHERE rule = 'velocity' AND enabled = 0
    )
  )
  AND velocity_enabled = 1
  AND (indexOf(order_keys, concat(toString(intDiv(toUInt32(event_time), velocity_window)), '/',
                                  toString(timestamp_ms), '/', toString(id)))
       - indexOf(order_buckets, intDiv(toUInt32(event_time), velocity_window))
       + 1 AS rank) > velocity_limit
