-- name: large_amount
-- purpose: Flags orders whose total is above the large_amount rule's threshold. Run by src/fraud/rule-runner.ts for the sales ingested in
--          [from_time, to_time); reads the rule's current setting from fraud_rules each run, and an
--          organizer's override of its threshold or switch (fraud_rule_overrides, from Postgres) for
--          that organizer's shows.
-- param: from_time DateTime start of the ingest window (inclusive)
-- param: to_time DateTime end of the ingest window (exclusive)
INSERT INTO {database}.fraud_alerts_log
SELECT
  now() AS detected_at,
  'large_amount' AS rule,
  event_id,
  user_id,
  order_id,
  amount,
  concat('order total ', toString(toFloat64(amount)), ' ', toString(currency), ' is above the limit of ',
         toString(effective_limit)) AS details,
  id AS sale_id,
  event_time
FROM (
  SELECT event_id, user_id, order_id, amount, currency, id, event_time, has_override, override_threshold, override_enabled
  FROM {database}.ticket_sales_ids
  -- The shows whose organizer overrides this rule, with the override (one JOIN per level on 18.16;
  -- ALL, not ANY: current ClickHouse keeps one left row per key with ANY INNER).
  ANY LEFT JOIN (
    SELECT show_id AS event_id, toUInt8(1) AS has_override, override_threshold, override_enabled
    FROM {database}.shows
    ALL INNER JOIN (
      SELECT organizer_id, threshold AS override_threshold, enabled AS override_enabled
      FROM {database}.fraud_rule_overrides
      WHERE rule = 'large_amount'
    ) AS overrides USING (organizer_id)
  ) AS show_overrides USING (event_id)
  WHERE ingested_at >= {{from_time}} AND ingested_at < {{to_time}}
    -- The runner evaluates the newest second again while rows may still join it: skip what fired.
    AND id NOT IN (
      SELECT sale_id FROM {database}.fraud_alerts_log WHERE rule = 'large_amount' AND detected_at >= now() - INTERVAL 1 HOUR
    )
) AS sales
CROSS JOIN (
  SELECT argMax(threshold, tuple(updated_at, revision)) AS amount_limit, argMax(enabled, tuple(updated_at, revision)) AS amount_enabled
  FROM {database}.fraud_rules
  WHERE rule = 'large_amount'
) AS large_amount_rule
WHERE if(has_override = 1, override_enabled, amount_enabled) = 1
  AND toFloat64(amount) > (if(has_override = 1, ifNull(override_threshold, amount_limit), amount_limit) AS effective_limit)
