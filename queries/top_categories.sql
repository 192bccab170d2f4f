-- name: top_categories
-- purpose: The best-selling ticket categories across all shows in a time range (e.g. the last
--          hour), by tickets sold.
--          Gross: every sale counted, refunds not subtracted (net: show_summary).
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- param: limit UInt32 how many categories
-- columns: event_id, category, tickets, orders, revenue
-- scope: event_id (an organizer's key sees its own shows only)
-- Whole hours of the range come from sales_per_hour and only its ragged ends from
-- sales_per_minute: a day of all shows is about 20,000 hour windows instead of 180,000 minute
-- windows (docs/benchmarks.md). Both are fed by the same deduplicated rows, so the sums agree.
SELECT event_id, category, sum(tickets) AS tickets, sum(orders) AS orders, sum(revenue) AS revenue
FROM (
  SELECT event_id, category, tickets, orders, revenue
  FROM {database}.sales_per_hour
  WHERE window_start >= toStartOfHour({{from_time}} + 3599) AND window_start < toStartOfHour({{to_time}})
    AND {scope}
  UNION ALL
  SELECT event_id, category, tickets, orders, revenue
  FROM {database}.sales_per_minute
  WHERE window_start >= {{from_time}} AND window_start < {{to_time}}
    AND NOT (window_start >= toStartOfHour({{from_time}} + 3599) AND window_start < toStartOfHour({{to_time}}))
    AND {scope}
)
GROUP BY event_id, category
ORDER BY tickets DESC, revenue DESC, event_id, category
LIMIT {{limit}}
