-- name: top_categories
-- purpose: The best-selling ticket categories across all shows in a time range (e.g. the last
--          hour), by tickets sold.
-- param: from_time DateTime start of the range (UTC, inclusive)
-- param: to_time DateTime end of the range (UTC, exclusive)
-- param: limit UInt32 how many categories
-- columns: event_id, category, tickets, orders, revenue
-- scope: event_id (an organizer's key sees its own shows only)
SELECT event_id, category, sum(tickets) AS tickets, sum(orders) AS orders, sum(revenue) AS revenue
FROM {database}.sales_per_minute
WHERE window_start >= {{from_time}} AND window_start < {{to_time}} AND {scope}
GROUP BY event_id, category
ORDER BY tickets DESC, revenue DESC, event_id, category
LIMIT {{limit}}
