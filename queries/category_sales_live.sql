-- name: category_sales_live
-- purpose: Tickets, orders and revenue of one show per ticket category so far, with the time
--          ClickHouse last counted a sale of each: the leaderboard of an on-sale. It is also a
--          live feed on /v1/live (key and watermark below).
--          Gross: every sale counted, refunds not subtracted (net: live_sales_for_show).
-- param: show_id String the show (data.event_id)
-- columns: category, tickets, orders, revenue, last_counted_at
-- volatile: last_counted_at
-- key: category
-- watermark: last_counted_at
SELECT
  category,
  sum(quantity) AS tickets,
  count() AS orders,
  sum(amount) AS revenue,
  max(ingested_at) AS last_counted_at
FROM {database}.ticket_sales
WHERE event_id = {{show_id}}
GROUP BY category
ORDER BY category
