-- name: show_summary
-- purpose: One line per show for a time range: tickets, orders, revenue, exact distinct buyers
--          and the busiest minute, e.g. for an end-of-day report.
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- columns: event_id, tickets, orders, revenue, unique_buyers, busiest_minute, busiest_minute_tickets
-- scope: event_id (an organizer's key sees its own shows only)
-- Both halves read ticket_sales: over a day of all shows the raw rows answer faster than the
-- minute windows, whose aggregate states 18.16 merges row by row (docs/benchmarks.md).
SELECT event_id, tickets, orders, revenue, unique_buyers, busiest_minute, busiest_minute_tickets
FROM (
  SELECT
    event_id,
    sum(quantity) AS tickets,
    count() AS orders,
    sum(amount) AS revenue,
    uniqExact(user_id) AS unique_buyers
  FROM {database}.ticket_sales
  WHERE event_time >= {{from_time}} AND event_time < {{to_time}} AND {scope}
  GROUP BY event_id
) AS totals
ANY LEFT JOIN (
  -- Ties go to the earliest minute.
  SELECT
    event_id,
    argMax(minute, tuple(minute_tickets, 4294967295 - toUInt32(minute))) AS busiest_minute,
    max(minute_tickets) AS busiest_minute_tickets
  FROM (
    SELECT event_id, toStartOfMinute(event_time) AS minute, sum(quantity) AS minute_tickets
    FROM {database}.ticket_sales
    WHERE event_time >= {{from_time}} AND event_time < {{to_time}} AND {scope}
    GROUP BY event_id, minute
  )
  GROUP BY event_id
) AS busiest USING (event_id)
ORDER BY event_id
