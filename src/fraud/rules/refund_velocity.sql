-- name: refund_velocity
-- purpose: Flags each booked refund beyond the refund_velocity rule's limit that one buyer made within
--          one tumbling window of the refunds' own time (ranked by timestamp, then id): a buyer
--          refunding more than N orders in a window. Run by src/fraud/rule-runner.ts with the
--          other rules; it reads the refunds booked (refund_decisions) in the last hour, not the
--          sales window the runner passes, and skips the refunds it already alerted on. Reads the
--          rule's current setting from fraud_rules each run; an organizer can switch it off for
--          its shows (fraud_rule_overrides.enabled = 0).
INSERT INTO {database}.fraud_alerts_log
SELECT
  now() AS detected_at,
  'refund_velocity' AS rule,
  event_id,
  user_id,
  order_id,
  amount,
  concat('refund ', toString(rank), ' by ', user_id, ' within ', toString(refund_window),
         ' s; more than ', toString(refund_limit), ' is suspicious') AS details,
  id AS sale_id,
  refunded_at AS event_time
FROM (
  -- The booked refunds decided in the last hour, once each.
  SELECT id, any(event_id) AS event_id, any(user_id) AS user_id, any(order_id) AS order_id,
    any(amount) AS amount, any(refunded_at) AS refunded_at, any(timestamp_ms) AS timestamp_ms
  FROM {database}.refund_decisions
  WHERE outcome = 'booked' AND decided_at >= now() - INTERVAL 1 HOUR
    AND ingested_at >= now() - INTERVAL 2 DAY
  GROUP BY id
) AS recent
-- Per buyer, every booked refund of the look-back as 'bucket/timestamp/id', sorted, with its
-- bucket beside it: a refund's rank in its window is its position minus the position of its
-- window's first refund (as in velocity.sql). The rule's setting rides along on every row.
ALL INNER JOIN (
  SELECT
    user_id,
    any(w) AS refund_window,
    any(refund_limit_setting) AS refund_limit,
    any(rule_enabled) AS refund_enabled,
    arraySort(groupUniqArray(tuple(
      concat(toString(intDiv(toUInt32(t), w)), '/', toString(ts), '/', toString(rid)),
      intDiv(toUInt32(t), w)))) AS refunds_sorted,
    arrayMap(x -> tupleElement(x, 1), refunds_sorted) AS refund_keys,
    arrayMap(x -> tupleElement(x, 2), refunds_sorted) AS refund_buckets
  FROM (
    SELECT user_id, refunded_at AS t, timestamp_ms AS ts, id AS rid
    FROM {database}.refund_decisions
    WHERE outcome = 'booked' AND ingested_at >= now() - INTERVAL 2 DAY
      AND user_id IN (
        SELECT user_id FROM {database}.refund_decisions
        WHERE outcome = 'booked' AND decided_at >= now() - INTERVAL 1 HOUR
      )
  ) AS look_back
  CROSS JOIN (
    SELECT
      greatest(argMax(window_seconds, tuple(updated_at, revision)), 1) AS w,
      argMax(threshold, tuple(updated_at, revision)) AS refund_limit_setting,
      argMax(enabled, tuple(updated_at, revision)) AS rule_enabled
    FROM {database}.fraud_rules
    WHERE rule = 'refund_velocity'
  ) AS refund_rule
  GROUP BY user_id
) AS user_refunds USING (user_id)
WHERE refund_enabled = 1
  AND id NOT IN (
    SELECT sale_id FROM {database}.fraud_alerts_log
    WHERE rule = 'refund_velocity' AND detected_at >= now() - INTERVAL 2 HOUR
  )
  AND event_id NOT IN (
    SELECT show_id FROM {database}.shows WHERE organizer_id IN (
      SELECT organizer_id FROM {database}.fraud_rule_overrides WHERE rule = 'refund_velocity' AND enabled = 0
    )
  )
  AND (indexOf(refund_keys, concat(toString(intDiv(toUInt32(refunded_at), refund_window)), '/',
                                   toString(timestamp_ms), '/', toString(id)))
       - indexOf(refund_buckets, intDiv(toUInt32(refunded_at), refund_window))
       + 1 AS rank) > refund_limit
