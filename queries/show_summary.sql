-- name: show_summary
-- purpose: One line per show for a time range: gross tickets, orders and revenue (every sale),
--          the refunds booked in the range (by the refund's own time), net tickets and revenue
--          (gross minus refunded), exact distinct buyers and the busiest minute of sales, e.g. for
--          an end-of-day report. A show with refunds and no sales in the range has a line too.
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- columns: event_id, tickets, orders, revenue, tickets_refunded, revenue_refunded, net_tickets, net_revenue, unique_buyers, busiest_minute, busiest_minute_tickets
-- scope: event_id (an organizer's key sees its own shows only)
-- The sales halves read ticket_sales: over a day of all shows the raw rows answer faster than the
-- minute windows, whose aggregate states 18.16 merges row by row (docs/benchmarks.md). Refunds
-- come from `refunds`, the booked ones only.
SELECT event_id, tickets, orders, revenue, tickets_refunded, revenue_refunded, net_tickets,
  net_revenue, unique_buyers, busiest_minute, busiest_minute_tickets
FROM (
  SELECT
    event_id,
    sum(q) AS tickets,
    sum(s) AS orders,
    sum(a) AS revenue,
    sum(rq) AS tickets_refunded,
    sum(ra) AS revenue_refunded,
    toInt64(tickets) - toInt64(tickets_refunded) AS net_tickets,
    revenue - revenue_refunded AS net_revenue,
    uniqExactIf(u, s = 1) AS unique_buyers
  FROM (
    SELECT event_id, toUInt64(1) AS s, user_id AS u, toUInt64(quantity) AS q, amount AS a,
      toUInt64(0) AS rq, toDecimal64(0, 4) AS ra
    FROM {database}.ticket_sales
    WHERE event_time >= {{from_time}} AND event_time < {{to_time}} AND {scope}
    UNION ALL
    SELECT event_id, toUInt64(0) AS s, user_id AS u, toUInt64(0) AS q, toDecimal64(0, 4) AS a,
      toUInt64(quantity) AS rq, amount AS ra
    FROM {database}.refunds
    WHERE refunded_at >= {{from_time}} AND refunded_at < {{to_time}} AND {scope}
  )
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
