-- name: top_velocity_buyers
-- purpose: Buyers with the most orders within a single UTC minute in a time range: the people
--          (or bots) behind velocity alerts, and how close others come.
--          Gross: every order counted, refunds not subtracted.
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- param: limit UInt32 how many buyers
-- columns: user_id, max_orders_per_minute, orders, tickets, revenue
-- scope: event_id (an organizer's key sees its own shows only)
-- One pass over the range, grouped by buyer: each buyer's order minutes in an array, and the
-- most orders in one minute counted from it (a buyer has a handful of orders a day; a bot's
-- hundreds still count in microseconds). Grouping by (buyer, minute) first and then by buyer
-- hashed every buyer twice: 2× slower over a day (docs/benchmarks.md).
SELECT
  user_id,
  arrayReduce('max', arrayMap(m -> countEqual(minutes, m), minutes)) AS max_orders_per_minute,
  orders,
  tickets,
  revenue
FROM (
  SELECT
    user_id,
    groupArray(toStartOfMinute(event_time)) AS minutes,
    count() AS orders,
    sum(quantity) AS tickets,
    sum(amount) AS revenue
  FROM {database}.ticket_sales
  WHERE event_time >= {{from_time}} AND event_time < {{to_time}} AND {scope}
  GROUP BY user_id
)
ORDER BY max_orders_per_minute DESC, orders DESC, user_id
LIMIT {{limit}}
