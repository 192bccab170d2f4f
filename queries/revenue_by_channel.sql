-- name: revenue_by_channel
-- purpose: Orders, tickets and revenue per sales channel (web, app, box office, partner) and
--          show in a time range, with each channel's share of the show's revenue.
--          Gross: every sale counted, refunds not subtracted (net: show_summary).
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- columns: event_id, channel, orders, tickets, revenue, revenue_share
-- scope: event_id (an organizer's key sees its own shows only)
SELECT
  event_id,
  channel,
  orders,
  tickets,
  revenue,
  round(toFloat64(revenue) / toFloat64(show_revenue), 4) AS revenue_share
FROM (
  SELECT event_id, channel, count() AS orders, sum(quantity) AS tickets, sum(amount) AS revenue
  FROM {database}.ticket_sales
  WHERE event_time >= {{from_time}} AND event_time < {{to_time}} AND {scope}
  GROUP BY event_id, channel
) AS by_channel
ANY LEFT JOIN (
  SELECT event_id, sum(amount) AS show_revenue
  FROM {database}.ticket_sales
  WHERE event_time >= {{from_time}} AND event_time < {{to_time}} AND {scope}
  GROUP BY event_id
) AS by_show USING (event_id)
ORDER BY event_id, revenue DESC, channel
