-- Fraud alerts: one row per (rule, order) that fired.
--
-- The rules are SQL (src/fraud/rules/*.sql), run by the service's fraud rule runner every
-- FRAUD_RULES_INTERVAL_MS over the sales ingested since its last run (`fraud_rule_runs` holds
-- that watermark), reading each rule's current setting from `fraud_rules` on every run: a changed
-- threshold applies from the next run. Why not materialized views: on ClickHouse 18.16 a view
-- fired by the Kafka engine's thread cannot JOIN, read a view or use a scalar subquery ("There
-- is no query"), and every rule needs one of those to read its threshold or the user's history.
--
-- A run that is repeated (a crash between the INSERT and its watermark, two service instances)
-- writes an alert twice; the view keeps one row per (rule, sale), so analysts see each once.
--
-- Analysts read the view `fraud_alerts`:
--   detected_at DateTime  when the rule fired
--   rule        String    large_amount | velocity | unusual_location
--   event_id    String    the show
--   user_id     String
--   order_id    String
--   amount      Decimal   the order total
--   details     String    the reason, with the numbers

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

CREATE TABLE IF NOT EXISTS {database}.fraud_rule_runs {on_cluster} (
  rule String,
  evaluated_to DateTime,
  ran_at DateTime
) ENGINE = ReplacingMergeTree(evaluated_to)
ORDER BY rule;

CREATE VIEW IF NOT EXISTS {database}.fraud_alerts {on_cluster} AS
SELECT
  min(first_detected_at) AS detected_at,
  rule,
  any(show) AS event_id,
  any(user) AS user_id,
  any(order_ref) AS order_id,
  any(order_total) AS amount,
  any(reason) AS details
FROM (
  SELECT
    detected_at AS first_detected_at,
    rule,
    sale_id,
    event_id AS show,
    user_id AS user,
    order_id AS order_ref,
    amount AS order_total,
    details AS reason
  FROM {database}.fraud_alerts_log
)
GROUP BY rule, sale_id;
