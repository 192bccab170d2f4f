-- name: live_sales_for_show
-- purpose: Sales of one show per minute and category in a time range: what an organizer's live
--          dashboard shows during an on-sale. tickets, orders and revenue are gross (every sale);
--          refunds, tickets_refunded and revenue_refunded are the refunds booked in the minute (by
--          the refund's own time); net_tickets and net_revenue are gross minus refunded, and a
--          minute with refunds and fewer sales is below 0.
-- param: show_id String the show (data.event_id)
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- columns: window_start, category, tickets, orders, revenue, unique_buyers, refunds, tickets_refunded, revenue_refunded, net_tickets, net_revenue
SELECT window_start, category, tickets, orders, revenue, unique_buyers, refunds, tickets_refunded,
  revenue_refunded, net_tickets, net_revenue
FROM {database}.sales_per_minute
WHERE event_id = {{show_id}}
  AND window_start >= {{from_time}}
  AND window_start < {{to_time}}
ORDER BY window_start, category
