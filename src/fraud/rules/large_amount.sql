-- name: large_amount
-- purpose: Flags orders whose total is above the large_amount rule's threshold. Run by src/fraud/rule-runner.ts for the sales ingested in
--          [from_time, to_time); reads the rule's current setting from fraud_rules each run.
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
         toString(amount_limit)) AS details,
  id AS sale_id,
  event_time
FROM {database}.ticket_sales_ids
CROSS JOIN (
  SELECT argMax(threshold, tuple(updated_at, revision)) AS amount_limit, argMax(enabled, tuple(updated_at, revision)) AS amount_enabled
  FROM {database}.fraud_rules
  WHERE rule = 'large_amount'
) AS large_amount_rule
WHERE ingested_at >= {{from_time}} AND ingested_at < {{to_time}}
  -- The runner evaluates the newest second again while rows may still join it: skip what fired.
  AND id NOT IN (
    SELECT sale_id FROM {database}.fraud_alerts_log WHERE rule = 'large_amount' AND detected_at >= now() - INTERVAL 1 HOUR
  )
  AND amount_enabled = 1 AND toFloat64(amount) > amount_limit
