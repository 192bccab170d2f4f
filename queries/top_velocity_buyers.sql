-- name: top_velocity_buyers
-- purpose: Buyers with the most orders within a single UTC minute in a time range: the people
--          (or bots) behind velocity alerts, and how close others come.
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- param: limit UInt32 how many buyers
-- columns: user_id, max_orders_per_minute, orders, tickets, revenue
-- scope: event_id (an organizer's key sees its own shows only)
SELECT
  user_id,
  max(orders_in_minute) AS max_orders_per_minute,
  sum(orders_in_minute) AS orders,
  sum(tickets_in_minute) AS tickets,
  sum(revenue_in_minute) AS revenue
FROM (
  SELECT
    user_id,
    toStartOfMinute(event_time) AS minute,
    count() AS orders_in_minute,
    sum(quantity) AS tickets_in_minute,
    sum(amount) AS revenue_in_minute
  FROM {database}.ticket_sales
  WHERE event_time >= {{from_time}} AND event_time < {{to_time}} AND {scope}
  GROUP BY user_id, minute
)
GROUP BY user_id
ORDER BY max_orders_per_minute DESC, orders DESC, user_id
LIMIT {{limit}}
