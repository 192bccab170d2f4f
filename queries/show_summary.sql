-- name: show_summary
-- purpose: One line per show for a time range: tickets, orders, revenue, exact distinct buyers
--          and the busiest minute, e.g. for an end-of-day report.
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- columns: event_id, tickets, orders, revenue, unique_buyers, busiest_minute, busiest_minute_tickets
-- scope: event_id (an organizer's key sees its own shows only)
SELECT
  event_id,
  sum(quantity) AS tickets,
  count() AS orders,
  sum(amount) AS revenue,
  uniqExact(user_id) AS unique_buyers,
  busiest_minute,
  busiest_minute_tickets
FROM {database}.ticket_sales
ANY LEFT JOIN (
  -- Ties go to the earliest minute.
  SELECT event_id, argMax(window_start, tuple(t, 4294967295 - toUInt32(window_start))) AS busiest_minute, max(t) AS busiest_minute_tickets
  FROM (
    SELECT event_id, window_start, sum(tickets) AS t
    FROM {database}.sales_per_minute
    WHERE window_start >= {{from_time}} AND window_start < {{to_time}}
    GROUP BY event_id, window_start
  )
  GROUP BY event_id
) AS busiest USING (event_id)
WHERE event_time >= {{from_time}} AND event_time < {{to_time}} AND {scope}
GROUP BY event_id, busiest_minute, busiest_minute_tickets
ORDER BY event_id
