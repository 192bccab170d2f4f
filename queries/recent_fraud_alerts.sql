-- name: recent_fraud_alerts
-- purpose: Fraud alerts for orders placed in a time range (e.g. the last hour), newest first,
--          with the rule that fired and why.
-- param: from_time DateTime start of the range of order times (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- columns: detected_at, rule, event_id, user_id, order_id, amount, details
-- volatile: detected_at
-- scope: event_id (an organizer's key sees its own shows only)
SELECT detected_at, rule, event_id, user_id, order_id, amount, details
FROM {database}.fraud_alerts
WHERE {scope} AND order_id IN (
  SELECT order_id FROM {database}.ticket_sales WHERE event_time >= {{from_time}} AND event_time < {{to_time}} AND {scope}
)
ORDER BY rule, order_id
