-- name: unusual_location
-- purpose: Flags a purchase from a country the user has not bought from within the rule's look-back while their other recent purchases came from elsewhere. Run by src/fraud/rule-runner.ts for the sales ingested in
--          [from_time, to_time); reads the rule's current setting from fraud_rules each run. An
--          organizer can switch it off for its shows (fraud_rule_overrides.enabled = 0); its
--          threshold and window are the platform's (they span a buyer's orders across organizers).
-- param: from_time DateTime start of the ingest window (inclusive)
-- param: to_time DateTime end of the ingest window (exclusive)
INSERT INTO {database}.fraud_alerts_log
SELECT
  now() AS detected_at,
  'unusual_location' AS rule,
  event_id,
  user_id,
  order_id,
  amount,
  concat('purchase from ', toString(country), '; the user''s ', toString(length(prior_countries)),
         ' earlier purchase(s) in the last ', toString(location_lookback), ' s came from ',
         arrayStringConcat(arrayDistinct(prior_countries), ', ')) AS details,
  id AS sale_id,
  event_time
FROM {database}.ticket_sales_ids
-- Per user, the purchases of the look-back sorted by (timestamp, id): the ones before this order
-- are the prefix up to its position.
ALL INNER JOIN (
  SELECT
    user_id,
    any(lookback) AS location_lookback,
    any(min_prior) AS location_min_prior,
    any(rule_enabled) AS location_enabled,
    arraySort(groupUniqArray(tuple(concat(toString(timestamp_ms), '/', toString(id)), toString(country)))) AS history,
    arrayMap(x -> tupleElement(x, 1), history) AS history_keys,
    arrayMap(x -> tupleElement(x, 2), history) AS history_countries
  FROM (
    -- Only the users who bought in this window, each an index range of sales_by_user (which
    -- keeps two days: a look-back longer than that sees two days), plus the window's own sales
    -- from ticket_sales_ids: sales_by_user is a sibling view's table and can lack a row of the
    -- window when the rule runs (groupUniqArray drops the overlap).
    SELECT user_id, event_time, timestamp_ms, id, country
    FROM {database}.sales_by_user
    WHERE user_id IN (
        SELECT user_id FROM {database}.ticket_sales_ids
        WHERE ingested_at >= {{from_time}} AND ingested_at < {{to_time}}
      )
    UNION ALL
    SELECT user_id, event_time, timestamp_ms, id, country
    FROM {database}.ticket_sales_ids
    WHERE ingested_at >= {{from_time}} AND ingested_at < {{to_time}}
  ) AS recent
  CROSS JOIN (
    SELECT
      argMax(window_seconds, tuple(updated_at, revision)) AS lookback,
      argMax(threshold, tuple(updated_at, revision)) AS min_prior,
      argMax(enabled, tuple(updated_at, revision)) AS rule_enabled
    FROM {database}.fraud_rules
    WHERE rule = 'unusual_location'
  ) AS location_rule
  WHERE event_time >= now() - lookback
  GROUP BY user_id
) AS user_history USING (user_id)
WHERE ingested_at >= {{from_time}} AND ingested_at < {{to_time}}
  -- The runner evaluates the newest second again while rows may still join it: skip what fired.
  AND id NOT IN (
    SELECT sale_id FROM {database}.fraud_alerts_log WHERE rule = 'unusual_location' AND detected_at >= now() - INTERVAL 1 HOUR
  )
  AND event_id NOT IN (
    SELECT show_id FROM {database}.shows WHERE organizer_id IN (
      SELECT organizer_id FROM {database}.fraud_rule_overrides WHERE rule = 'unusual_location' AND enabled = 0
    )
  )
  AND location_enabled = 1
  AND length(arraySlice(history_countries, 1,
        greatest(indexOf(history_keys, concat(toString(timestamp_ms), '/', toString(id))) - 1, 0)) AS prior_countries)
      >= location_min_prior
  AND NOT has(prior_countries, toString(country))
